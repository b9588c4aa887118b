"""An upload that loses its lease midway never completes a second file.

Two workers that both believe they hold a job's finalize step (the first outlived its lease)
are played here by two provider instances against the emulator over real HTTP; the fence is
the real :class:`LeaseFence` over the real job store in Redis, taken over by a second claim.
"""

from __future__ import annotations

import hashlib

import pytest

from emulator.control import EmulatorControl
from tests.fixtures.redis import Clock
from tests.integration.test_moderately_provider import make_provider
from worker.errors import BadResponse, LeaseLost
from worker.providers.moderately.params import upload_request
from worker.record import Job
from worker.results.upload import LeaseFence, upload_once
from worker.store import JobStore

pytestmark = pytest.mark.integration

DATA = b"col\n" + b"1\n" * 500
SHA = hashlib.sha256(DATA).hexdigest()


class FenceAfter:
    """Holds the fence ``calls`` times, then behaves as a worker whose lease has gone."""

    def __init__(self, calls: int) -> None:
        self.left = calls

    def __call__(self) -> None:
        if self.left == 0:
            raise LeaseLost("lease gone")
        self.left -= 1


def stored_files(emulator: EmulatorControl) -> int:
    return emulator.stats()["moderately"]["files_by_sha256"].get(SHA, 0)


@pytest.fixture
def workers(fresh_emulator):
    made = [make_provider(fresh_emulator.base_url("moderately")) for _ in range(2)]
    yield made
    for provider in made:
        provider.close()


@pytest.mark.parametrize(("held", "what"), [
    (3, "bytes sent, lease lost before the commit"),
    (2, "file begun, lease lost before the bytes"),
    (1, "lease lost before anything was begun"),
])
def test_a_taken_over_upload_ends_as_one_file(workers, fresh_emulator, held, what):
    first, second = workers
    with pytest.raises(LeaseLost):
        upload_once(first, "r.csv", DATA, job_id="job-1", fence=FenceAfter(held))
    assert stored_files(fresh_emulator) == 0, what
    done = upload_once(second, "r.csv", DATA, job_id="job-1")
    assert stored_files(fresh_emulator) == 1, what
    assert second.find_upload(SHA, "r.csv") == done.file_id
    assert upload_once(second, "r.csv", DATA, job_id="job-1").reused


def test_the_replacement_finishes_the_file_the_first_worker_began(workers, fresh_emulator):
    first, second = workers
    with pytest.raises(LeaseLost):
        upload_once(first, "r.csv", DATA, job_id="job-2", fence=FenceAfter(3))
    [pending] = second._pending_uploads(SHA, "job-2")
    assert upload_once(second, "r.csv", DATA, job_id="job-2").file_id == pending
    assert second._pending_uploads(SHA, "job-2") == []


def test_another_jobs_pending_upload_is_left_alone(workers, fresh_emulator):
    first, second = workers
    with pytest.raises(LeaseLost):
        upload_once(first, "r.csv", DATA, job_id="job-a", fence=FenceAfter(2))
    upload_once(second, "r.csv", DATA, job_id="job-b")
    assert len(second._pending_uploads(SHA, "job-a")) == 1  # not deleted by job-b's upload


def test_the_lease_fence_stops_once_another_worker_claims_the_step(redis_client):
    clock = Clock()
    store = JobStore(redis_client, clock=clock)
    [job_id] = store.create_many([Job.new("b", "k", "moderately", "agent", {})], due_in=0)
    store.transition(job_id, ["queued"], "running", remote_done="succeeded")
    claim, token = store.claim_lease(job_id, "finalize", ("running",), 30)
    assert claim == "fresh"
    fence = LeaseFence(store, job_id, "finalize", token, 30)
    fence()  # still ours: renewed, and the renewed token is kept for the next call
    clock.now += 20
    fence()
    clock.now += 31  # the lease ran out and another worker took the step over
    assert store.claim_lease(job_id, "finalize", ("running",), 30)[0] == "fresh"
    with pytest.raises(LeaseLost, match=f"^job {job_id}: finalize taken over by another worker$"):
        fence()



def test_a_garbled_answer_to_complete_is_never_taken_for_a_stored_file(workers, fresh_emulator):
    """The platform refuses /complete for a file whose bytes never arrived (the worker that
    began it died before its PUT); a proxy's 200 page in place of that 400 must not count as
    the upload, and the next attempt stores the bytes."""
    first, second = workers
    with pytest.raises(LeaseLost):
        upload_once(first, "r.csv", DATA, job_id="job-g", fence=FenceAfter(2))
    [pending] = second._pending_uploads(SHA, "job-g")
    body = upload_request("r.csv", DATA, SHA, second._team)
    fresh_emulator.configure("moderately", fault_garbage=1.0)
    try:
        with pytest.raises(BadResponse):
            second._finish(pending, body)
    finally:
        fresh_emulator.configure("moderately", fault_garbage=0.0)
    assert stored_files(fresh_emulator) == 0
    done = upload_once(second, "r.csv", DATA, job_id="job-g")
    assert stored_files(fresh_emulator) == 1
    assert done.file_id != pending and second.find_upload(SHA, "r.csv") == done.file_id
