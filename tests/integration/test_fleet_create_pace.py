"""The fleet-wide create pace, as the platform sees it: creates spread out, nothing lost.

Many threads across two worker processes want to create at once (one job per message), so
most jobs meet a slot too far off to sleep for and are handed back: they must come again
still queued — created once each, never searched for, no error counted. The request bucket
(``_RPS``) can instead hold a create back after its job was admitted: that job comes again
in ``submitting``, and is not searched for either, since its create never left.
"""

from __future__ import annotations

import time

import pytest

from emulator.samples import sample_job
from tests.fixtures.fleet import private_fleet, wait_done
from tests.fixtures.pace import too_early
from worker import keys

pytestmark = pytest.mark.integration
JOBS, CREATE_RPS, BURST = 24, 4, 2
REQUEST_RPS = 6  # every request counts here (about 4 a job with polls and result files),
# while the creates asking at once still meet slots over 2 s off (the 15th on)
CREATE = "POST /tools/{org}/tools/{tool_key}/{tool_version}/executions"
LIST = "GET /tools/{org}/tools/executions"  # how a lost create is searched for
HANDED_BACK = "jobfleet_throttle_waits_total|platform=deeporigin,outcome=handed_back"


def handed_back(fleet, timeout_s: float = 15) -> float:
    """The workers' count of steps the pace handed back, once a flush has carried it."""
    deadline = time.monotonic() + timeout_s
    while True:
        count = float(fleet.store.redis.hget(keys.METRICS, HANDED_BACK) or 0)
        if count or time.monotonic() > deadline:
            return count
        time.sleep(0.2)


def test_creates_keep_the_pace_and_handed_back_jobs_are_created_once(fresh_emulator, tmp_path):
    jobs = [sample_job(f"cp-{i}", "deeporigin", "tool", duration_s=0.2) for i in range(JOBS)]
    with private_fleet(fresh_emulator, tmp_path, workers=2,
                       JOBFLEET_DEEPORIGIN_CREATE_RPS=str(CREATE_RPS),
                       JOBFLEET_DEEPORIGIN_BURST=str(BURST),
                       JOBFLEET_CHUNK_SIZE="1",  # every job its own message: many at once
                       JOBFLEET_SWEEP_ENABLED="false") as (fleet, pool):  # lists mean searches
        started = time.time()  # the emulator stamps creations on the wall clock
        batch = fleet.enqueue_batch(jobs, batch="paced")
        status = wait_done(fleet, batch, timeout_s=120)
        assert handed_back(fleet) > 0, "no job met a far slot: the test proves nothing"
        logs = pool.logs()
        records = [job for ids in fleet.store.batch_job_ids(batch)
                   for job in fleet.store.get_many(ids)]
    assert status["states"]["succeeded"] == JOBS
    assert [job.errors for job in records] == [0] * JOBS
    stats = fresh_emulator.stats(brief=True)["deeporigin"]
    assert stats["requests_by_endpoint"][CREATE] == JOBS
    assert stats["requests_by_endpoint"].get(LIST, 0) == 0
    created = [fresh_emulator.job("deeporigin", job.remote_id)["created_at"] for job in records]
    assert not too_early(created, started, CREATE_RPS, BURST), "faster than the pace (k, s)"
    # The waits are logged, a line per kind (then a sum per 10 s), not silent.
    assert "deeporigin: creates handed back by the fleet's create pace: job " in logs
    assert "deeporigin: creates that slept for the fleet's create pace: job " in logs


def test_creates_held_back_by_the_request_limit_after_admission_are_never_searched_for(
        fresh_emulator, tmp_path):
    jobs = [sample_job(f"rq-{i}", "deeporigin", "tool", duration_s=0.2) for i in range(JOBS)]
    with private_fleet(fresh_emulator, tmp_path, workers=2,
                       JOBFLEET_DEEPORIGIN_CREATE_RPS="0",  # admitted at once...
                       JOBFLEET_DEEPORIGIN_RPS=str(REQUEST_RPS),  # ...then held back here
                       JOBFLEET_DEEPORIGIN_BURST=str(BURST),
                       JOBFLEET_CHUNK_SIZE="1",
                       JOBFLEET_SWEEP_ENABLED="false") as (fleet, _):
        batch = fleet.enqueue_batch(jobs, batch="request-limited")
        status = wait_done(fleet, batch, timeout_s=180)
        assert handed_back(fleet) > 0, "no create met a far slot: the test proves nothing"
    assert status["states"]["succeeded"] == JOBS
    stats = fresh_emulator.stats(brief=True)["deeporigin"]
    assert stats["requests_by_endpoint"][CREATE] == JOBS
    assert stats["requests_by_endpoint"].get(LIST, 0) == 0
