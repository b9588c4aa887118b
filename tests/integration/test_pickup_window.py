"""The adaptive pickup window on a real Redis: workers publish the queue waits they measure,
dispatchers widen the window while the queue is slow and narrow it back when it is quick."""

from __future__ import annotations

import pytest

from worker.dispatcher import Dispatcher
from worker.heartbeat import Heartbeat
from worker.keys import pickup_key
from worker.pickup import LANE_NAMES, MEMORY_S, PickupWindow, QueueWaits, lane_name
from worker.record import STEPS, Job

pytestmark = pytest.mark.integration

FLOOR, CAP, LEASE_S = 6.0, 120.0, 6.0
PROVIDERS = ("deeporigin",)
NEW = lane_name("submit", unstarted=True)  # the lane of jobs not yet started


@pytest.fixture
def window(store, clock):
    return PickupWindow(store.redis, LANE_NAMES, floor_s=FLOOR, cap_s=CAP, clock=clock)


BEATS: dict[str, Heartbeat] = {}


@pytest.fixture(autouse=True)
def _processes():
    BEATS.clear()


def started_after(store, clock, step: str, waited: float, name: str = "w1") -> None:
    """Worker process ``name`` starts a job of ``step`` whose message was sent ``waited`` ago."""
    beat = BEATS.get(name)
    if beat is None:
        beat = BEATS[name] = Heartbeat(store, PROVIDERS, LEASE_S, clock=clock)
        beat.waits = QueueWaits(clock, name=name)
    with beat.running(step, [], sent_at=clock.now - waited):
        pass
    beat.beat()  # the heartbeat thread publishes once per beat


def test_a_slow_queue_widens_its_steps_window_and_a_quick_one_narrows_it_back(
        store, clock, window):
    assert window("submit") == FLOOR
    started_after(store, clock, "submit", 15.0)
    window.refresh()
    assert window("submit") == 22.5  # half again the wait: merely queued work is not resent
    assert window("poll") == FLOOR  # each step its own window
    clock.now += MEMORY_S / 2
    started_after(store, clock, "submit", 1.0)  # quick again
    window.refresh()
    assert window("submit") == 11.25  # the slow wait fades
    clock.now += MEMORY_S / 2
    window.refresh()
    assert window("submit") == FLOOR


def test_a_process_that_stops_publishing_is_forgotten_and_its_field_deleted(
        store, clock, window):
    started_after(store, clock, "finalize", 20.0, name="dead")
    started_after(store, clock, "finalize", 4.0, name="alive")
    window.refresh()
    assert window("finalize") == 30.0
    clock.now += MEMORY_S + 1
    started_after(store, clock, "finalize", 4.0, name="alive")
    window.refresh()
    assert window("finalize") == FLOOR
    assert set(store.redis.hkeys(pickup_key("finalize"))) == {"alive"}


def test_nothing_is_published_when_nothing_started(store, clock):
    beat = Heartbeat(store, PROVIDERS, LEASE_S, clock=clock)
    beat.beat()
    assert all(not store.redis.exists(pickup_key(step)) for step in STEPS)


def test_a_dispatcher_does_not_send_again_what_waits_in_a_slow_queue(store, clock, window):
    [job_id] = store.create_many([Job.new("b", "k", "deeporigin", "tool", {})], due_in=0)
    sent: list = []
    dispatcher = Dispatcher(store, PROVIDERS, lambda step, ids, **_: sent.append(ids),
                            lambda step, unstarted: 0, lambda provider: None, pickup=window,
                            batch=10, chunk=4, high_water=10)
    started_after(store, clock, NEW, 12.0)  # the new jobs' lane is slow just now
    window.refresh()
    assert dispatcher.run_once() == 1
    clock.now += FLOOR + 1  # past the floor, but the message is merely queued
    assert dispatcher.run_once() == 0
    clock.now += 18.0 - FLOOR  # past the widened window: lost after all, sent again
    assert dispatcher.run_once() == 1
    assert sent == [[job_id], [job_id]]


def test_the_new_jobs_slow_lane_leaves_the_started_works_window_at_the_floor(
        store, clock, window):
    started_after(store, clock, NEW, 40.0)  # new jobs wait behind a backlog
    started_after(store, clock, "submit", 2.0)  # started work overtakes them
    assert (window.refresh()["submit"], window.refresh()[NEW]) == (FLOOR, 60.0)
