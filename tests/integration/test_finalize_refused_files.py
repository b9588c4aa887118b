"""A finalize whose end is refused leaves no result file that no record names.

Finalize writes a job's files before it records the job's end; a job cancelled in between (or
whose step another worker took over) keeps its end from being recorded, and the files are in
no manifest. They are held for retention before they are written, so the janitor removes them
with the job. Real Redis, the emulator over HTTP, the finalize step as a worker runs it, and a
local or real S3-compatible result store.
"""

from __future__ import annotations

import json
import threading
import time

import pytest

from tests.fixtures.redis import Clock
from tests.integration.test_finalize_chunks import ended_and_handed_over
from worker import keys
from worker.apply import apply
from worker.finalize import finalize_jobs
from worker.outcomes import Cancel
from worker.retention import Janitor
from worker.store import JobStore

pytestmark = pytest.mark.integration
pytest_plugins = ["tests.fixtures.burst"]

SLOW_UPLOAD_S = 2.0  # each request to the upload's platform is answered this late
WRITTEN_WITHIN_S = 30.0


@pytest.fixture(params=["local", "s3"])
def burst_on(request, make_burst):
    """A burst worker whose result store is a local folder or a bucket on a real S3 server."""
    if request.param == "local":
        return make_burst()
    server = request.getfixturevalue("s3_server")
    return make_burst(JOBFLEET_RESULTS_URL=f"s3://{server.new_bucket()}/fleet", **server.env())


def stored(results) -> set[str]:
    """Every file in the result store, as locations."""
    return {results.location(path) for path in results.fs.find(results.root)}


def held(redis, job_id: str) -> set[str]:
    return set(json.loads(redis.hget(keys.HELD_FILES, job_id) or "[]"))


def finalize_until_written(rt, job_ids: list[str]) -> threading.Thread:
    """Starts finalize on ``job_ids`` as one chunk (their ends wait for the slowest job) and
    returns once every one of them has files in the store."""
    step = threading.Thread(target=finalize_jobs, args=(rt, job_ids))
    step.start()
    deadline = time.monotonic() + WRITTEN_WITHIN_S
    while len({at.split("/")[-2] for at in stored(rt.results)}) < len(job_ids):
        assert time.monotonic() < deadline, "finalize never wrote every job's files"
        time.sleep(0.02)
    return step


def slow_upload(rt, fresh_emulator, job_id: str) -> None:
    rt.redis.hset(keys.job_key(job_id), "upload", json.dumps({"to": "moderately"}))
    fresh_emulator.configure("moderately", fault_slow=1.0, slow_s=SLOW_UPLOAD_S)


def cancel(rt, job_ids: list[str]) -> None:
    for job in rt.store.get_many(job_ids):  # as the cancel step ends a running job
        assert apply(rt, job, Cancel(("running",))).done


def assert_held_then_removed(rt, job_ids: list[str]) -> None:
    """Every file in the store is held for one of the ended ``job_ids``, and the janitor
    removes them all once their retention ends."""
    written = stored(rt.results)
    assert written, "the finalize wrote nothing: the case is not what it should be"
    assert written == set().union(*(held(rt.redis, job_id) for job_id in job_ids))
    due = dict(rt.redis.zrange(keys.FILES_DUE, 0, -1, withscores=True))
    assert set(due) == set(job_ids)
    later = Clock(max(due.values()) + 1)
    janitor = Janitor(JobStore(rt.redis, clock=later, retention_s=rt.store.retention_s),
                      rt.results)
    assert janitor.run_once().files == len(written)
    assert stored(rt.results) == set()
    assert rt.redis.hlen(keys.HELD_FILES) == 0


def test_files_written_by_a_finalize_refused_after_a_cancel_go_with_the_job(
    burst_on, fresh_emulator
):
    rt = burst_on.rt
    plain, uploading = ended_and_handed_over(burst_on, fresh_emulator, 2)
    slow_upload(rt, fresh_emulator, uploading)
    step = finalize_until_written(rt, [plain, uploading])
    cancel(rt, [plain, uploading])  # ``plain`` is written and waits for the upload to end
    step.join()
    jobs = rt.store.get_many([plain, uploading])
    assert [(j.state, j.result) for j in jobs] == [("cancelled", None)] * 2
    assert_held_then_removed(rt, [plain, uploading])


def test_files_written_by_a_finalize_taken_over_go_with_the_job(burst, fresh_emulator):
    rt = burst.rt
    [job_id] = ended_and_handed_over(burst, fresh_emulator, 1)
    slow_upload(rt, fresh_emulator, job_id)
    step = finalize_until_written(rt, [job_id])
    lease_s = rt.policy.lease_s  # another worker takes the step, as after the lease ran out
    later = JobStore(rt.redis, clock=lambda: time.time() + lease_s + 1)
    assert later.claim_lease(job_id, "finalize", ("running",), lease_s)[0] == "fresh"
    step.join()
    assert rt.store.get(job_id).state == "running"  # left to the worker that took it over,
    cancel(rt, [job_id])  # which never wrote (it died); then the job is cancelled
    assert_held_then_removed(rt, [job_id])
