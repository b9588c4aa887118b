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


def job(store) -> str:
    [job_id] = store.create_many([Job.new("b", "k", "deeporigin", "tool", {})], due_in=0)
    return job_id


def test_an_unstarted_message_comes_back_after_the_pickup_window(store, clock):
    job_id = job(store)
    assert store.claim_due("submit", "deeporigin", PICKUP_S, 10) == [job_id]
    clock.now += PICKUP_S - 0.1
    assert store.claim_due("submit", "deeporigin", PICKUP_S, 10) == []
    clock.now += 0.2  # the message was lost with its worker: no one started it
    assert store.claim_due("submit", "deeporigin", PICKUP_S, 10) == [job_id]


def test_a_started_step_is_kept_while_its_worker_beats(store, heartbeat, clock):
    job_id = job(store)
    store.claim_due("submit", "deeporigin", PICKUP_S, 10)
    with heartbeat.running("submit", [job_id]):
        assert due(store, "submit", job_id) == clock.now + LEASE_S
        for _ in range(10):  # a step much longer than the lease
            clock.now += LEASE_S / 3
            heartbeat.beat()
            assert store.claim_due("submit", "deeporigin", PICKUP_S, 10) == []
    clock.now += LEASE_S + 0.1  # the worker died: no more beats
    assert store.claim_due("submit", "deeporigin", PICKUP_S, 10) == [job_id]


def test_a_job_the_step_rescheduled_is_not_pushed_by_a_later_beat(store, heartbeat, clock):
    job_id = job(store)
    store.claim_due("submit", "deeporigin", PICKUP_S, 10)
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
    store.claim_due("submit", "deeporigin", PICKUP_S, 10)
    with heartbeat.running("submit", [job_id]):  # a thread that hangs
        for _ in range(int(heartbeat.max_hold_s / (LEASE_S / 3)) + 4):
            clock.now += LEASE_S / 3
            heartbeat.beat()
        assert store.claim_due("submit", "deeporigin", PICKUP_S, 10) == [job_id]
