"""Which due jobs a dispatcher's claims take, on a real Redis: a claim of started work (a
retry, a resumed step, a claim whose message was lost) takes only those, a claim of jobs
not yet started only those, moving them into the due index; the dispatcher makes the first
before the second, and sends them in lanes of their own (``test_lanes.py``)."""

from __future__ import annotations

import pytest

from worker.keys import due_key, unstarted_key
from worker.record import Job

pytestmark = pytest.mark.integration
pytest_plugins = ["tests.fixtures.burst"]

WINDOW_S = 6.0  # the pickup window the claims below set

# name, started jobs (key → due in s), new jobs (key → due in s), claim of new jobs?, limit,
# keys claimed in order
CASES = [
    ("a claim of started work leaves older new jobs", {"s": -1}, {"n1": -5, "n2": -4}, False,
     5, ["s"]),
    ("a claim of new jobs leaves started work", {"s": -2}, {"n2": -1, "n1": -3}, True, 5,
     ["n1", "n2"]),
    ("started work oldest first, within the limit", {"s2": -1, "s1": -2}, {"n": -5}, False, 1,
     ["s1"]),
    ("new jobs oldest first, within the limit", {}, {"n2": -1, "n1": -2}, True, 1, ["n1"]),
    ("no started work is claimed before it is due", {"s": 1}, {"n": -1}, False, 5, []),
    ("no new job is claimed before it is due", {"s": -1}, {"n": 1}, True, 5, []),
]


def new_job(store, clock, key: str, due_in: float) -> str:
    [job_id] = store.create_many([Job.new("b", key, "deeporigin", "tool", {})], due_in=due_in)
    return job_id


def claim_new(store, clock, limit: int) -> list[str]:
    return store.claim_due("submit", "deeporigin", limit, until=clock.now + WINDOW_S,
                           unstarted=True).ids


def started_job(store, clock, key: str, due_in: float) -> str:
    """A job whose submit already ran once and is due again (a create to retry)."""
    job_id = new_job(store, clock, key, 0)
    store.transition(job_id, ["queued"], "submitting", schedule=("submit", clock.now + due_in))
    return job_id


@pytest.mark.parametrize(("name", "started", "new", "unstarted", "limit", "claimed"), CASES,
                         ids=[case[0] for case in CASES])
def test_a_claim_takes_its_own_kind_of_work(store, clock, name, started, new, unstarted,
                                            limit, claimed):
    ids = {key: started_job(store, clock, key, due) for key, due in started.items()}
    ids |= {key: new_job(store, clock, key, due) for key, due in new.items()}
    until = clock.now + WINDOW_S
    got = store.claim_due("submit", "deeporigin", limit, until=until, unstarted=unstarted).ids
    assert got == [ids[key] for key in claimed]
    for key, job_id in ids.items():
        in_due = store.redis.zscore(due_key("submit", "deeporigin"), job_id)
        waiting = store.redis.zscore(unstarted_key("deeporigin"), job_id)
        if key in claimed:  # every claimed job is in the due index, due when the window ends
            assert (in_due, waiting) == (until, None)
        elif key in new:  # a new job not claimed stays where it was, as it was
            assert (in_due, waiting) == (None, clock.now + new[key])
        else:
            assert (in_due, waiting) == (clock.now + started[key], None)


def test_a_new_job_whose_message_was_lost_comes_back_before_newer_ones(store, clock):
    first = new_job(store, clock, "first", -2)
    later = new_job(store, clock, "later", -1)
    assert claim_new(store, clock, 1) == [first]
    clock.now += WINDOW_S + 1  # its message was lost: nobody started it
    assert store.claim_due("submit", "deeporigin", 5, until=clock.now + WINDOW_S).ids == [first]
    assert claim_new(store, clock, 5) == [later]


def test_poll_and_finalize_claims_never_take_new_jobs(store, clock):
    job_id = new_job(store, clock, "n", -1)
    for step in ("poll", "finalize"):
        for unstarted in (False, True):
            assert store.claim_due(step, "deeporigin", 5, until=clock.now + WINDOW_S,
                                   unstarted=unstarted).ids == []
    assert store.redis.zscore(unstarted_key("deeporigin"), job_id) == clock.now - 1


def test_a_new_job_leaves_its_index_when_cancelled(store, clock):
    job_id = new_job(store, clock, "n", -1)
    assert store.transition(job_id, ["queued"], "cancelled") == (True, "queued")
    assert store.redis.zscore(unstarted_key("deeporigin"), job_id) is None
    assert claim_new(store, clock, 5) == []


def test_a_step_started_from_a_message_moves_the_job_into_the_due_index(store, clock):
    """A submit message sent directly (``jobfleet retry``) takes the job out of the index of
    new jobs: it is started work from then on."""
    job_id = new_job(store, clock, "n", -1)
    claim, token = store.claim_lease(job_id, "submit", ("queued", "submitting"), 30)
    assert claim == "fresh"
    assert store.redis.zscore(unstarted_key("deeporigin"), job_id) is None
    assert store.redis.zscore(due_key("submit", "deeporigin"), job_id) == float(token)


def test_a_job_held_back_by_the_in_flight_limit_comes_back_as_started_work(store, clock):
    job_id = new_job(store, clock, "n", -1)
    claim_new(store, clock, 5)
    assert store.start_submitting(job_id, 0) == "at_limit"
    store.reschedule(store.get(job_id), "submit", clock.now + 1)  # decide.at_limit
    assert store.redis.zscore(due_key("submit", "deeporigin"), job_id) == clock.now + 1
    assert store.redis.zscore(unstarted_key("deeporigin"), job_id) is None


def test_a_retried_job_waits_with_the_new_jobs(store, clock):
    job_id = new_job(store, clock, "n", 0)
    store.transition(job_id, ["queued"], "failed", reason="remote_failed", error="x")
    assert store.retry_many([job_id], due_in=2) == {job_id: "retried"}
    assert store.redis.zscore(unstarted_key("deeporigin"), job_id) == clock.now + 2
    assert store.redis.zscore(due_key("submit", "deeporigin"), job_id) is None


def test_a_started_job_is_submitted_before_a_backlog_of_new_ones(make_burst):
    """The real dispatcher and submit step against the emulator, with room for one submit
    of one job per round: the job whose submit a dead worker had started (admitted, then
    killed before its create) goes before twenty older jobs never started."""
    burst = make_burst(JOBFLEET_QUEUE_HIGH_WATER="1", JOBFLEET_CHUNK_SIZE="4")
    store = burst.rt.store
    backlog = burst.enqueue([do_job(f"new-{i}") for i in range(20)])
    [started] = burst.enqueue([do_job("started")])
    store.transition(started, ["queued"], "submitting",
                     schedule=("submit", store.clock()))  # its worker's lease ran out
    assert burst.run_once() == 1
    assert store.get(started).state == "running"
    assert {job.state for job in store.get_many(backlog)} == {"queued"}
    burst.drain()
    assert {job.state for job in store.get_many([started, *backlog])} == {"succeeded"}


def do_job(key: str) -> Job:
    params = {"tool": "deeporigin.docking", "version": "latest", "inputs": {"ligand": key}}
    return Job.new("b1", key, "deeporigin", "tool", params)
