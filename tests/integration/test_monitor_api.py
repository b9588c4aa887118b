"""Enqueueing over HTTP beside Flower's pages: the same validation and per-line errors as
``jobfleet submit``, good lines enqueued, idempotent on keys, bounded bodies, same login."""

from __future__ import annotations

import json

import pytest

from emulator.samples import sample_job
from tests.fixtures.fleet import wait_done
from tests.fixtures.flower import running_flower

pytestmark = pytest.mark.integration

LOGIN = ("backend", "api-pw-123")
API = "/jobfleet/api/batches"


@pytest.fixture(scope="module")
def server(fleet_environment, workers, tmp_path_factory):
    with running_flower(fleet_environment, tmp_path_factory.mktemp("api"),
                        FLOWER_BASIC_AUTH=":".join(LOGIN), JOBFLEET_API_MAX_BODY_BYTES="20000") \
            as flower:
        yield flower


def jsonl(*lines) -> bytes:
    return b"\n".join(x if isinstance(x, bytes) else json.dumps(x).encode() for x in lines)


def test_jsonl_enqueues_good_lines_and_names_each_bad_one(server, fleet, emulator):
    good = emulator.plan_jobs([sample_job("good-1", "deeporigin", "tool", duration_s=0.2),
                               sample_job("good-2", "openprotein", "msa", duration_s=0.2)])
    body = jsonl(good[0],
                 b'{"key": "broken"',
                 {"key": "x", "provider": "nowhere", "kind": "tool", "params": {}},
                 good[1])
    answer = server.post(f"{API}?batch=api-jsonl", data=body, auth=LOGIN)
    assert answer.status_code == 200, answer.text
    reply = answer.json()
    assert (reply["batch"], reply["accepted"], reply["new"]) == ("api-jsonl", 2, 2)
    assert [r["line"] for r in reply["rejected"]] == [2, 3]
    assert reply["rejected"][0]["error"].startswith("invalid JSON")
    assert "unknown provider 'nowhere'" in reply["rejected"][1]["error"]
    again = server.post(f"{API}?batch=api-jsonl", data=body, auth=LOGIN).json()
    assert (again["accepted"], again["new"], again["already_known"]) == (2, 0, 2)
    status = wait_done(fleet, "api-jsonl")
    assert status["total"] == 2 and status["states"]["succeeded"] == 2
    assert server.get(f"{API}/api-jsonl", auth=LOGIN).json() == fleet.status("api-jsonl")
    lines = server.get(f"{API}/api-jsonl/results", auth=LOGIN).text.splitlines()
    assert [json.loads(x) for x in lines] == list(fleet.results("api-jsonl"))


def test_a_json_array_names_bad_items_and_derives_the_batch(server, fleet):
    items = [sample_job("arr-1", "moderately", "agent", duration_s=0.2), {"key": "arr-2"}]
    reply = server.post(API, json=items, auth=LOGIN).json()
    assert reply["batch"].startswith("b-") and reply["accepted"] == 1
    assert reply["rejected"] == [{"item": 2, "error": "missing fields: provider, kind, params"}]
    assert fleet.status(reply["batch"])["total"] == 1


def test_cancel_and_unknown_batches(server, fleet):
    long = [sample_job(f"long-{i}", "deeporigin", "tool", duration_s=300) for i in range(3)]
    assert server.post(f"{API}?batch=api-cancel", json=long, auth=LOGIN).status_code == 200
    reply = server.post(f"{API}/api-cancel/cancel", auth=LOGIN)
    assert reply.json() == {"batch": "api-cancel", "cancel": "requested"}
    assert wait_done(fleet, "api-cancel")["states"]["cancelled"] == 3
    ended = server.post(f"{API}/api-cancel/cancel", auth=LOGIN).json()
    assert ended["cancel"].startswith("nothing to cancel")
    for path in (f"{API}/nope", f"{API}/nope/results"):
        missing = server.get(path, auth=LOGIN)
        assert missing.status_code == 404 and missing.json() == {"error": "unknown batch 'nope'"}


def test_bad_bodies_get_clear_errors(server):
    too_big = server.post(API, data=b"x" * 30000, auth=LOGIN)
    assert too_big.status_code == 413 and "larger than 20000 bytes" in too_big.json()["error"]
    assert server.post(API, data=b"\n\n", auth=LOGIN).json()["error"].startswith("the body holds")
    assert server.post(API, data=b"[1, 2", auth=LOGIN).status_code == 400
    job = sample_job("named", "deeporigin", "tool")
    bad_name = server.post(f"{API}?batch=no/slash", json=[job], auth=LOGIN)
    assert bad_name.status_code == 400 and "invalid batch name" in bad_name.json()["error"]
    assert server.post(API, json=[], auth=("backend", "wrong")).status_code == 401
    assert server.post(API, json=[]).status_code == 401
