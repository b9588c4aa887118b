"""Submit, poll, finalize and cancel run in this process (a burst worker) on a real Redis,
against the emulator over HTTP: the orchestration tested without Celery in between."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from worker import keys, submit
from worker.cancel import cancel_job
from worker.log_tally import LogTally
from worker.providers import shared_find
from worker.providers.types import Created, JobSpec
from worker.record import Job
from worker.submit import _find_and_claim, submit_job

pytestmark = pytest.mark.integration
pytest_plugins = ["tests.fixtures.burst"]

DO = "deeporigin"


def do_job(key: str, batch: str = "b1", **options) -> Job:
    params = {"tool": "deeporigin.docking", "version": "latest", "inputs": {"ligand": key}}
    return Job.new(batch, key, DO, "tool", params, **options)


def created(emulator) -> int:
    return emulator.stats()[DO]["executions_created"]


def states(burst, ids) -> list[str]:
    return [burst.rt.store.get(i).state for i in ids]


def test_jobs_are_submitted_polled_and_finalized_in_process(burst, fresh_emulator):
    ids = burst.enqueue([do_job(f"ok-{i}") for i in range(6)])
    burst.drain()
    jobs = burst.rt.store.get_many(ids)
    assert [j.state for j in jobs] == ["succeeded"] * 6
    assert all(j.result and j.remote_id and j.times["succeeded"] for j in jobs)
    assert created(fresh_emulator) == 6
    assert burst.rt.store.in_flight(DO) == 0
    assert burst.ran["submit"] == 6 and burst.ran["finalize"] >= 6


def test_a_create_whose_answer_was_lost_is_found_and_adopted_not_sent_again(burst,
                                                                            fresh_emulator):
    [job_id] = burst.enqueue([do_job("lost-answer")])
    store = burst.rt.store
    job = store.get(job_id)
    started = time.time()
    # A worker sent the create and died before recording the answer.
    made = burst.rt.provider(DO).create(JobSpec(job_id=job.id, kind=job.kind,
                                                params=job.params, create_started=started))
    assert isinstance(made, Created)
    assert burst.rt.in_flight.admit(job.id, DO, {}) == "ok"
    store.transition(job.id, ["submitting"], "submitting", create_started=started)
    burst.drain()
    job = store.get(job_id)
    assert (job.state, job.remote_id) == ("succeeded", made.submission.remote_id)
    assert created(fresh_emulator) == 1


def test_the_in_flight_limit_holds_jobs_back_and_is_never_exceeded(make_burst, fresh_emulator):
    burst = make_burst(JOBFLEET_DEEPORIGIN_MAX_IN_FLIGHT="2")
    fresh_emulator.configure(DO, duration="fixed:0.4")
    ids = burst.enqueue([do_job(f"cap-{i}") for i in range(6)])
    seen: list[int] = []
    burst.drain(each_round=lambda: seen.append(burst.rt.store.in_flight(DO)))
    assert states(burst, ids) == ["succeeded"] * 6
    assert max(seen) == 2
    assert max(fresh_emulator.stats()[DO]["peak_running_by_credential"].values()) <= 2


def test_a_create_to_retry_goes_ahead_while_its_own_job_fills_the_in_flight_cap(
        make_burst, fresh_emulator):
    """The job's first create met a platform error: it stays ``submitting``, holding the one
    slot the cap allows, and its retry must still be sent (it needs no second slot)."""
    burst = make_burst(JOBFLEET_DEEPORIGIN_MAX_IN_FLIGHT="1", JOBFLEET_MAX_STEP_ERRORS="2",
                       JOBFLEET_HTTP_RETRIES="0")
    fresh_emulator.configure(DO, fault_5xx=1.0)
    [job_id] = burst.enqueue([do_job("retry-at-cap")])
    burst.drain()
    job = burst.rt.store.get(job_id)
    assert (job.state, job.submit_attempts) == ("failed", 1)
    assert job.error.startswith("gave up after 2 attempts to submit")
    assert burst.rt.store.in_flight(DO) == 0


def test_a_cancelled_batch_stops_its_running_jobs_remotely(burst, fresh_emulator):
    fresh_emulator.configure(DO, duration="fixed:60")
    ids = burst.enqueue([do_job(f"stop-{i}") for i in range(3)])
    burst.drain(done=lambda: states(burst, ids) == ["running"] * 3)
    assert burst.rt.store.request_batch_cancel("b1")
    burst.drain()
    assert states(burst, ids) == ["cancelled"] * 3
    for job in burst.rt.store.get_many(ids):
        assert fresh_emulator.job(DO, job.remote_id)["status"] == "Cancelled"
    assert burst.rt.store.in_flight(DO) == 0


def test_cancelling_one_job_reports_what_happened(burst, fresh_emulator):
    fresh_emulator.configure(DO, duration="fixed:60")
    [running] = burst.enqueue([do_job("r")])
    burst.drain(done=lambda: states(burst, [running]) == ["running"])
    [queued] = burst.rt.store.create_many([do_job("q")], due_in=60)  # not yet due
    assert cancel_job(burst.rt, queued) == "cancelled"
    assert cancel_job(burst.rt, queued) == "already cancelled"
    assert cancel_job(burst.rt, running) == "cancelled"
    assert cancel_job(burst.rt, running) == "already cancelled"
    assert cancel_job(burst.rt, "no-such-job") == "missing"


def test_a_job_past_its_deadline_is_cancelled_remotely_and_failed(burst, fresh_emulator):
    fresh_emulator.configure(DO, duration="fixed:60")
    [job_id] = burst.enqueue([do_job("slow", deadline_s=1.0)])
    burst.drain()
    job = burst.rt.store.get(job_id)
    assert (job.state, job.reason) == ("failed", "deadline")
    assert job.error == "deadline of 1s passed; remote job cancelled"
    assert fresh_emulator.job(DO, job.remote_id)["status"] == "Cancelled"


def test_a_remote_failure_fails_the_job_with_the_platforms_reason(burst, fresh_emulator):
    fresh_emulator.configure(DO, failure_rate=1.0)
    [job_id] = burst.enqueue([do_job("doomed")])
    burst.drain()
    job = burst.rt.store.get(job_id)
    assert (job.state, job.reason) == ("failed", "remote_failed")
    assert job.error.startswith("deeporigin: remote job failed:")


def test_a_platform_that_keeps_failing_spends_the_error_budget_then_fails_the_job(
        make_burst, fresh_emulator):
    burst = make_burst(JOBFLEET_MAX_STEP_ERRORS="2", JOBFLEET_HTTP_RETRIES="0")
    fresh_emulator.configure(DO, fault_5xx=1.0)
    [job_id] = burst.enqueue([do_job("unlucky")])
    burst.drain()
    job = burst.rt.store.get(job_id)
    assert job.state == "failed"
    assert job.error.startswith("gave up after 2 attempts to submit: deeporigin HTTP 5")
    assert job.create_started is None and job.remote_id is None
    assert created(fresh_emulator) == 0
    assert burst.rt.store.in_flight(DO) == 0


def test_a_cancel_that_arrives_while_the_create_is_out_cancels_the_new_remote_job(
        burst, fresh_emulator):
    # every answer 0.8 s late, always (latency_ms is random: a quick create missed the flag)
    fresh_emulator.configure(DO, duration="fixed:60", fault_slow=1.0, slow_s=0.8)
    [job_id] = burst.enqueue([do_job("late-cancel")])
    store = burst.rt.store
    flagger = threading.Timer(0.4, store.request_job_cancel, args=[[job_id]])
    flagger.start()  # lands while the create request is waiting for its answer
    try:
        burst.drain(timeout_s=60)
    finally:
        flagger.cancel()
    job = store.get(job_id)
    assert job.state == "cancelled" and job.remote_id
    assert burst.ran["poll"] == 0  # the submit step saw the request itself, no poll needed
    assert created(fresh_emulator) == 1
    assert fresh_emulator.job(DO, job.remote_id)["status"] == "Cancelled"


class RivalRegisters:
    """The real OpenProtein provider, except that right after its first ``find`` another of
    our jobs registers the remote job found: the moment two identical jobs race for one."""

    def __init__(self, provider, store, rival: str) -> None:
        self._provider, self._store, self._rival = provider, store, rival
        self.finds = 0

    def find(self, spec, taken):
        self.finds += 1
        found = self._provider.find(spec, taken=taken)
        if self.finds == 1 and found is not None:
            assert self._store.own_remote("openprotein", found.remote_id, self._rival)
        return found

    def __getattr__(self, name):
        return getattr(self._provider, name)


def test_a_find_that_loses_its_match_to_another_job_searches_again(burst, fresh_emulator):
    provider = burst.rt.provider("openprotein")
    params = {"model": "esm2_t6_8M_UR50D", "sequences": ["MKTAYIAKQR"]}
    started = time.time()
    job = Job.new("b1", "k", "openprotein", "embed", params)
    first, second = "a" * 24, job.id
    specs = [JobSpec(job_id=j, kind="embed", params=params, create_started=started,
                     adopt_by_payload=True) for j in (first, second)]
    made = []
    for spec in specs:  # two identical remote jobs, one per job; their answers were lost
        made.append(provider.create(spec).submission.remote_id)
        time.sleep(0.01)
    racing = RivalRegisters(provider, burst.rt.store, rival=first)
    found = _find_and_claim(burst.rt, racing, job, specs[1])
    assert racing.finds == 2
    assert found.remote_id == made[1]  # the other identical job, not a "duplicate" failure
    assert burst.rt.store.remote_owner("openprotein", made[0]) == first


@pytest.mark.parametrize("lost", ["answer", "worker"])
def test_a_search_handed_back_to_wait_for_a_shared_walk_says_so(
    lost, burst, fresh_emulator, monkeypatch, caplog
):
    monkeypatch.setattr(shared_find, "HOLD_S", 0.0)  # hands back at once instead of waiting
    monkeypatch.setattr(submit, "waits", LogTally(submit.log))  # no earlier test's tally
    caplog.set_level(logging.INFO, logger="jobfleet.submit")
    store, seed = burst.rt.store, "MKTAYIAKQR"
    [job_id] = burst.enqueue([Job.new("b1", "op-lost", "openprotein", "msa",
                                      {"sequences": [seed]})])
    # Another process is walking the MSA list for lost creates.
    lock = f"{keys.find_prefix(burst.rt.credential('openprotein'))}/align/align:lock"
    burst.rt.redis.set(lock, "another process")
    if lost == "answer":  # the create's answer is lost: searched for in the same step
        fresh_emulator.plan("openprotein", {seed: {"lose_answer": True, "duration_s": 0.2}})
    else:  # a worker sent the create and died before recording the answer
        job, started = store.get(job_id), time.time()
        burst.rt.provider("openprotein").create(JobSpec(
            job_id=job.remote_tag, kind="msa", params=job.params, create_started=started))
        assert burst.rt.in_flight.admit(job.id, "openprotein", {}) == "ok"
        store.transition(job.id, ["submitting"], "submitting", create_started=started)
    submit_job(burst.rt, job_id)
    assert store.get(job_id).state == "submitting"
    said = [r.getMessage() for r in caplog.records
            if r.name == "jobfleet.submit" and "handed back" in r.getMessage()]
    assert len(said) == 1, said
    assert said[0].startswith(f"openprotein: searches for lost creates handed back to ask "
                              f"again: job {job_id}, in ")
    assert said[0].endswith("a shared search of /align/align is under way; asking again "
                            "shortly"), said
    burst.rt.redis.delete(lock)  # that walk ended
    if lost == "worker":  # (a lost answer is searched again only once its create settled)
        burst.drain()
        assert store.get(job_id).state == "succeeded"
    assert fresh_emulator.stats()["openprotein"]["jobs_created"] == 1
