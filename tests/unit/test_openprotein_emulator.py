"""Pure parts of the OpenProtein emulator: .npy files, FASTA, MSAs, overrides, tokens, status."""

from __future__ import annotations

import ast
import random
import struct

import pytest

from emulator.clock import JobRecord, OverrideError, Plan
from emulator.openprotein.align import homologs, is_seed_flag, msa_problem, parse_fasta
from emulator.openprotein.auth import ACCESS, REFRESH, TokenIssuer, TokenProblem
from emulator.openprotein.embeddings import MODELS, embedding
from emulator.openprotein.jobs import OpenProteinJob, read_override, render, wire_status
from emulator.openprotein.npy import npy_bytes


def load_npy(data: bytes) -> tuple[tuple[int, ...], list[float]]:
    """What np.load would see: the header's shape and the float32 values."""
    assert data[:8] == b"\x93NUMPY\x01\x00"
    (length,) = struct.unpack("<H", data[8:10])
    assert (10 + length) % 64 == 0 and data[10 + length - 1 : 10 + length] == b"\n"
    header = ast.literal_eval(data[10 : 10 + length].decode("latin-1"))
    assert header["descr"] == "<f4" and header["fortran_order"] is False
    payload = data[10 + length :]
    return header["shape"], list(struct.unpack(f"<{len(payload) // 4}f", payload))


def test_npy_files_have_an_aligned_header_and_the_raw_values():
    shape, values = load_npy(npy_bytes((2, 2), struct.pack("<4f", 1, 2, 3, 4)))
    assert shape == (2, 2) and values == [1, 2, 3, 4]
    assert load_npy(npy_bytes((3,), struct.pack("<3f", 0, 0, 0)))[0] == (3,)


def test_embeddings_are_per_residue_or_reduced_and_deterministic():
    model = MODELS["esm2_t6_8M_UR50D"]
    full_shape, full = load_npy(embedding(model, "MKA", None))
    mean_shape, mean = load_npy(embedding(model, "MKA", "MEAN"))
    sum_shape, total = load_npy(embedding(model, "MKA", "SUM"))
    assert full_shape == (3, 320) and mean_shape == sum_shape == (320,)
    column = [full[i * 320] for i in range(3)]
    assert mean[0] == pytest.approx(sum(column) / 3, rel=1e-5)
    assert total[0] == pytest.approx(sum(column), rel=1e-5)
    assert embedding(model, "MKA", "MEAN") == embedding(model, "MKA", "MEAN")


def test_fasta_is_read_as_the_client_reads_it():
    text = "# comment\n>seed one\nMKTA\nYIAK\n\n>hit\nMK-A\n"
    assert parse_fasta(text) == [("seed one", "MKTAYIAK"), ("hit", "MK-A")]
    assert parse_fasta("MKTAYIAK") == [("seed", "MKTAYIAK")]


@pytest.mark.parametrize(
    ("records", "is_seed", "problem"),
    [
        ([("seed", "MKTA")], True, None),
        ([("seed", "MKTA"), ("b", "MKTA")], True, "one sequence"),
        ([("seed", "MK-A")], True, "upper-case"),
        ([("a", "MK-A"), ("b", "MKTA")], False, None),
        ([("a", "MK-A"), ("b", "MKT")], False, "same length"),
        ([], False, "no sequence"),
    ],
)
def test_msa_uploads_are_checked(records, is_seed, problem):
    found = msa_problem(records, is_seed)
    assert found == problem if problem is None else problem in found


def test_a_seed_always_gets_the_same_aligned_homologs():
    rows = homologs("MKTAYIAKQRQISFVKSHFSRQ")
    assert rows == homologs("MKTAYIAKQRQISFVKSHFSRQ") and len(rows) == 8
    assert all(len(seq) == 22 for _, seq in rows) and len({name for name, _ in rows}) == 8


def test_is_seed_is_read_in_the_clients_spelling():
    assert (is_seed_flag("True"), is_seed_flag("False"), is_seed_flag(None)) == (True, False, False)
    assert is_seed_flag("maybe") is None


def test_openprotein_override_keys_are_split_from_the_shared_ones():
    shared, extras = read_override({"duration_s": 1, "retrying_s": 0.5, "cancel_after_s": 2})
    assert shared == {"duration_s": 1} and extras == {"retrying_s": 0.5, "cancel_after_s": 2.0}
    for bad in ({"retrying_s": -1}, {"cancel_after_s": True}, {"durations": 1}, "fast"):
        with pytest.raises(OverrideError):
            read_override(bad)


def record(**data) -> JobRecord:
    job_data = OpenProteinJob(owner="demo", job_type="/align/align", args={}, names=[],
                              sequences=[], **data)
    plan = Plan(queue_s=1.0, duration_s=4.0, outcome="failed", reason="no hits", price=1.0)
    return JobRecord("openprotein", "j-1", 0.0, plan, clock_start=0.0, data=job_data)


def test_statuses_follow_the_clock_with_a_retrying_spell():
    job = record(retrying_s=1.0)
    seen = [wire_status(job, t) for t in (0.5, 1.5, 2.5, 5.5)]
    assert seen == ["PENDING", "RETRYING", "RUNNING", "FAILURE"]
    assert render(job, 5.5)["failure_message"] == "no hits"
    assert render(job, 3.0)["progress_counter"] == 50


def test_a_scheduled_cancel_takes_effect_at_its_time_and_only_if_still_running():
    job = record(cancel_at=2.0)
    assert wire_status(job, 1.5) == "RUNNING" and wire_status(job, 9.0) == "CANCELED"
    assert render(job, 9.0)["end_date"].endswith("00:00:02.000Z")
    late = record(cancel_at=6.0)
    assert wire_status(late, 9.0) == "FAILURE"


def test_tokens_are_checked_by_signature_kind_and_expiry():
    issuer = TokenIssuer(access_ttl_s=10, refresh_ttl_s=100)
    pair = issuer.pair("demo", now=0.0)
    assert pair["expires_in"] == 10 and pair["token_type"] == "bearer"
    assert issuer.user_of(pair["access_token"], ACCESS, now=5.0) == "demo"
    for token, kind, now in ((pair["access_token"], ACCESS, 10.0),
                             (pair["refresh_token"], ACCESS, 5.0),
                             (pair["access_token"][:-2] + "xx", ACCESS, 5.0)):
        with pytest.raises(TokenProblem):
            issuer.user_of(token, kind, now)
    assert issuer.user_of(pair["refresh_token"], REFRESH, now=50.0) == "demo"


def test_a_refresh_token_works_once_and_a_reset_forgets_every_token():
    issuer = TokenIssuer(access_ttl_s=10, refresh_ttl_s=100)
    pair = issuer.pair("demo", now=0.0)
    assert issuer.redeem(pair["refresh_token"], now=1.0) == "demo"
    with pytest.raises(TokenProblem, match="already used"):
        issuer.redeem(pair["refresh_token"], now=2.0)
    fresh = issuer.pair("demo", now=0.0)
    issuer.forget_all()
    with pytest.raises(TokenProblem, match="unknown"):
        issuer.user_of(fresh["access_token"], ACCESS, now=1.0)


def test_residue_vectors_do_not_depend_on_the_global_random_state():
    model = MODELS["esm2_t6_8M_UR50D"]
    random.seed(1)
    first = embedding(model, "MKTA", "SUM")
    random.seed(2)
    assert embedding(model, "MKTA", "SUM") == first
