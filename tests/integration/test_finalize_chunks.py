"""Finalize takes a message's jobs together (``worker.finalize``), on a real Redis against the
emulator over HTTP: each job of a chunk keeps the guarantees of a job finalized alone."""

from __future__ import annotations

import time

import pytest

from worker.apply import apply
from worker.finalize import finalize_jobs
from worker.outcomes import RemoteEnded
from worker.record import Job

pytestmark = pytest.mark.integration
pytest_plugins = ["tests.fixtures.burst"]

DO = "deeporigin"
ENDED_WITHIN_S = 30.0


def do_job(key: str) -> Job:
    params = {"tool": "deeporigin.docking", "version": "latest", "inputs": {"ligand": key}}
    return Job.new("chunks", key, DO, "tool", params)


def ended_and_handed_over(burst, fresh_emulator, n: int) -> list[str]:
    """``n`` jobs whose remote jobs have ended, handed to finalize as a poll would, not run."""
    fresh_emulator.configure(DO, duration="fixed:0.3")
    ids = burst.enqueue([do_job(f"k{i}") for i in range(n)])
    store = burst.rt.store
    burst.drain(done=lambda: all(j.state == "running" for j in store.get_many(ids)))
    provider = burst.rt.provider(DO)
    deadline = time.monotonic() + ENDED_WITHIN_S
    for job in store.get_many(ids):
        status = provider.status(job.remote_id, job.kind)
        while not status.state.terminal:
            assert time.monotonic() < deadline, f"remote job of {job.key} never ended"
            time.sleep(0.1)
            status = provider.status(job.remote_id, job.kind)
        now = store.clock()
        assert apply(burst.rt, job, RemoteEnded(status, now, now)).done
    return ids


def test_a_chunk_ends_every_job_and_a_second_run_changes_nothing(burst, fresh_emulator):
    ids = ended_and_handed_over(burst, fresh_emulator, 5)
    finalize_jobs(burst.rt, ids)
    first = burst.rt.store.get_many(ids)
    assert [j.state for j in first] == ["succeeded"] * 5
    assert all(j.result and j.remote_record is None for j in first)
    finalize_jobs(burst.rt, ids + ids[:2])  # redelivered, with repeats
    again = burst.rt.store.get_many(ids)
    assert [(j.state, j.result, j.times) for j in again] == \
        [(j.state, j.result, j.times) for j in first]


def test_a_job_already_finalized_is_left_as_it_is(burst, fresh_emulator):
    done, *rest = ended_and_handed_over(burst, fresh_emulator, 3)
    finalize_jobs(burst.rt, [done])
    before = burst.rt.store.get(done)
    downloads = fresh_emulator.stats()[DO]["requests_by_endpoint"]
    finalize_jobs(burst.rt, [done, *rest])
    jobs = burst.rt.store.get_many([done, *rest])
    assert [j.state for j in jobs] == ["succeeded"] * 3
    assert (jobs[0].result, jobs[0].times) == (before.result, before.times)
    after = fresh_emulator.stats()[DO]["requests_by_endpoint"]
    fetched = sum(after.values()) - sum(downloads.values())
    assert fetched == len(rest)  # one direct download each; none for the finished job


def test_a_job_whose_lease_another_worker_holds_is_not_touched(burst, fresh_emulator):
    held, free = ended_and_handed_over(burst, fresh_emulator, 2)
    store = burst.rt.store
    claim, token = store.claim_lease(held, "finalize", ("running",), 60, require="remote_done")
    assert claim == "fresh"
    finalize_jobs(burst.rt, [held, free])
    held_job, free_job = store.get_many([held, free])
    assert (held_job.state, held_job.result, held_job.lease_until) == ("running", None, token)
    assert free_job.state == "succeeded"
    assert store.renew_lease(held, "finalize", token, 60) is not None  # still the other's


def test_one_jobs_failed_fetch_is_recorded_on_it_and_the_others_succeed(burst, fresh_emulator):
    ids = ended_and_handed_over(burst, fresh_emulator, 4)
    store = burst.rt.store
    broken = store.get(ids[1])
    record = dict(broken.remote_record)
    record["jobOutputs"] = {"file_path": "tool-runs/no-such-run/missing.csv"}
    assert store.transition(broken.id, ["running"], "running", remote_record=record)[0]
    finalize_jobs(burst.rt, ids)
    jobs = store.get_many(ids)
    assert [j.state for j in jobs] == ["succeeded", "failed", "succeeded", "succeeded"]
    assert jobs[1].reason is not None and "missing.csv" in jobs[1].error
    assert jobs[1].result is None


def test_a_remote_failure_in_the_chunk_fails_only_that_job_without_a_fetch(burst,
                                                                          fresh_emulator):
    ids = ended_and_handed_over(burst, fresh_emulator, 3)
    store = burst.rt.store
    failed = store.get(ids[0])
    assert store.transition(failed.id, ["running"], "running", remote_done="failed",
                            remote_detail="out of memory")[0]
    finalize_jobs(burst.rt, ids)
    jobs = store.get_many(ids)
    assert [j.state for j in jobs] == ["failed", "succeeded", "succeeded"]
    assert (jobs[0].reason, jobs[0].error) == ("remote_failed",
                                               "deeporigin: remote job failed: out of memory")
