"""The job record's one encoding: every field round-trips, None deletes, unknowns are refused."""

import dataclasses

import pytest

from worker import keys, scripts
from worker.record import CODECS, Job, decode, encode, encode_changes, encode_value


def stored(job: Job) -> dict[str, str]:
    flat = encode(job)
    return dict(zip(flat[::2], flat[1::2]))


def test_every_record_field_but_the_state_times_has_a_codec():
    names = {f.name for f in dataclasses.fields(Job)} - {"times"}
    assert names == set(CODECS)


def test_a_new_record_stores_only_what_differs_from_the_defaults():
    job = Job.new("b", "k1", "deeporigin", "tool", {"tool": "t"}, deadline_s=30)
    assert stored(job) == {"id": job.id, "batch": "b", "key": "k1", "provider": "deeporigin",
                           "kind": "tool", "params": '{"tool":"t"}', "deadline_s": "30.0"}


def test_a_full_record_survives_encoding_and_decoding():
    job = Job.new("b", "k1", "moderately", "run", {"x": [1, 2]}, deadline_s=12.5,
                  max_price=0.0, upload={"to": "deeporigin"})
    job = dataclasses.replace(job, state="running", cancel_requested=True, submit_attempts=2,
                              create_started=1700000000.25, remote_id="r-1", polls=3,
                              next_poll=1700000009.5, errors=1, last_error="timeout")
    raw = {**stored(job), "state": "running", "t_queued": "1.5", "t_running": "2.5"}
    assert decode(raw) == dataclasses.replace(job, times={"queued": 1.5, "running": 2.5})


@pytest.mark.parametrize(
    ("name", "value", "text"),
    [
        ("cancel_requested", True, "1"),
        ("cancel_requested", False, ""),  # a flag cleared is a field deleted
        ("errors", 3, "3"),
        ("create_started", 1700000000.125, "1700000000.125"),
        ("remote_id", None, ""),
        ("upload", {"to": "x"}, '{"to":"x"}'),
    ],
)
def test_each_codec_writes_one_explicit_text(name, value, text):
    assert encode_value(name, value) == text


def test_writing_a_field_the_record_lacks_is_a_type_error():
    with pytest.raises(TypeError, match="no field 'colour'"):
        encode_changes({"errors": 0, "colour": "red"})


def test_decoding_ignores_unknown_fields_and_reads_absent_ones_as_defaults():
    job = decode({"id": "j", "batch": "b", "key": "k", "provider": "p", "kind": "t",
                  "state": "queued", "from_a_newer_worker": "x", "t_nonsense": "oops"})
    assert (job.params, job.errors, job.remote_id, job.times) == ({}, 0, None, {})


def test_a_field_that_cannot_be_read_is_named():
    with pytest.raises(ValueError, match="'errors'"):
        decode({"id": "j", "batch": "b", "key": "k", "provider": "p", "kind": "t",
                "state": "queued", "errors": "many"})


def test_the_scripts_get_prefixes_and_states_from_python_not_their_own_text():
    source = scripts.source("transition")
    assert f'"{keys.DUE}"' in source and f'"{keys.INFLIGHT}"' in source
    for name in scripts.NAMES + scripts.RETENTION_NAMES:
        body = scripts.read(name)
        assert keys.PREFIX not in body
        assert "'succeeded'" not in body and "'submitting'" not in body


def test_every_script_file_is_package_data_so_an_install_ships_it():
    import tomllib
    from pathlib import Path

    root = Path(scripts.__file__).parent
    pyproject = tomllib.loads((root.parent / "pyproject.toml").read_text())
    globs = pyproject["tool"]["setuptools"]["package-data"]["worker"]
    shipped = {p for pattern in globs for p in root.glob(pattern)}
    assert set((root / "lua").glob("*.lua")) <= shipped
    for name in scripts.NAMES + scripts.RETENTION_NAMES:
        assert scripts.source(name)  # each is found the way an installed worker finds it
