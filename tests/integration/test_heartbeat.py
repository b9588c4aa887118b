"""Pickup window and heartbeat on a real Redis: unstarted work comes back fast, started work
is never taken over while its worker beats, and a rescheduled job is never pushed."""

from __future__ import annotations

import pytest

from worker.heartbeat import Heartbeat
from worker.keys import due_key
from worker.record import Job
from worker.results.upload import LeaseFence

pytestmark = pytest.mark.integration

PICKUP_S, LEASE_S = 3.0, 6.0
PROVIDERS = ("deeporigin", "moderately")


@pytest.fixture
def heartbeat(store, clock):
    return Heartbeat(store, PROVIDERS, LEASE_S, clock=clock)


def due(store, step, job_id) -> float | None:
    return store.redis.zscore(due_key(step, "deeporigin"), job_id)


def claim(store, clock) -> list[str]:
    """A dispatcher's claim of the due submits, started work then new jobs: a pickup window
    from now."""
    until = clock.now + PICKUP_S
    return [*store.claim_due("submit", "deeporigin", 10, until=until).ids,
            *store.claim_due("submit", "deeporigin", 10, until=until, unstarted=True).ids]


def job(store, key: str = "k") -> str:
    [job_id] = store.create_many([Job.new("b", key, "deeporigin", "tool", {})], due_in=0)
    return job_id


def test_an_unstarted_message_comes_back_after_the_pickup_window(store, clock):
    job_id = job(store)
    assert claim(store, clock) == [job_id]
    clock.now += PICKUP_S - 0.1
    assert claim(store, clock) == []
    clock.now += 0.2  # the message was lost with its worker: no one started it
    assert claim(store, clock) == [job_id]


def test_a_started_step_is_kept_while_its_worker_beats(store, heartbeat, clock):
    job_id = job(store)
    claim(store, clock)
    with heartbeat.running("submit", [job_id]):
        assert due(store, "submit", job_id) == clock.now + LEASE_S
        for _ in range(10):  # a step much longer than the lease
            clock.now += LEASE_S / 3
            heartbeat.beat()
            assert claim(store, clock) == []
    clock.now += LEASE_S + 0.1  # the worker died: no more beats
    assert claim(store, clock) == [job_id]


def test_a_job_the_step_rescheduled_is_not_pushed_by_a_later_beat(store, heartbeat, clock):
    job_id = job(store)
    claim(store, clock)
    with heartbeat.running("submit", [job_id]):
        store.reschedule(store.get(job_id), "submit", clock.now + 1.0)  # e.g. throttled
        clock.now += 0.5
        heartbeat.beat()
        assert due(store, "submit", job_id) == 1001.0  # still the step's own choice


def test_a_held_fence_keeps_the_record_lease_and_shares_its_token(store, heartbeat, clock):
    job_id = job(store)
    claim, token = store.claim_lease(job_id, "submit", ("queued",), LEASE_S)
    fence = LeaseFence(store, job_id, "submit", token, LEASE_S)
    with heartbeat.holding(fence):
        for _ in range(6):
            clock.now += LEASE_S / 3
            heartbeat.beat()
        assert store.claim_lease(job_id, "submit", ("queued",), LEASE_S)[0] == "busy"
        fence()  # the step's own renewal still holds after the heartbeat's
    clock.now += LEASE_S + 0.1
    assert store.claim_lease(job_id, "submit", ("queued",), LEASE_S)[0] == "fresh"


def test_a_step_held_past_its_limit_is_let_go_for_another_worker(store, heartbeat, clock):
    job_id = job(store)
    claim(store, clock)
    with heartbeat.running("submit", [job_id]):  # a thread that hangs
        for _ in range(int(heartbeat.max_hold_s / (LEASE_S / 3)) + 4):
            clock.now += LEASE_S / 3
            heartbeat.beat()
        assert claim(store, clock) == [job_id]


def test_a_taken_message_holds_its_jobs_for_a_lease_not_the_whole_pickup_window(
        store, heartbeat, clock):
    first, second, moved = (job(store, key) for key in ("k1", "k2", "k3"))
    until = clock.now + 30.0  # a pickup window widened by a slow queue
    assert sorted(store.claim_due("submit", "deeporigin", 10, until=until,
                                  unstarted=True).ids) == sorted([first, second, moved])
    store.reschedule(store.get(moved), "submit", clock.now + 50.0)  # e.g. a settle wait
    clock.now += 2.0  # the message waited in its queue, then a worker took it
    assert sorted(heartbeat.taken("submit", [first, second, moved], until)) == sorted(
        [first, second])
    assert due(store, "submit", first) == clock.now + LEASE_S  # held one lease from now
    assert due(store, "submit", moved) == clock.now - 2.0 + 50.0  # left as rescheduled
    clock.now += LEASE_S + 0.1  # the worker died holding the message: back after a lease
    assert sorted(claim(store, clock)) == sorted(
        [first, second])


def test_a_message_taken_within_a_lease_of_its_window_is_left_as_claimed(
        store, heartbeat, clock):
    job_id = job(store)
    until = clock.now + PICKUP_S
    store.claim_due("submit", "deeporigin", 10, until=until, unstarted=True)
    assert heartbeat.taken("submit", [job_id], until) == []  # the window ends sooner
    assert heartbeat.taken("submit", [job_id], None) == []  # a message without a claim time
    assert due(store, "submit", job_id) == until
