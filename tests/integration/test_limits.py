"""Fleet-wide limits on a real Redis: the token bucket, the 429 pause, the in-flight cap."""

import threading
import time

import pytest

from worker.errors import Throttled
from worker.limits import MAX_SLEEP_S, FleetThrottle, create_pace
from worker.record import Job
from worker.store import JobStore


def most_in_any_window(stamps, width=1.0):
    """The most stamps in any closed window of ``width`` seconds (to the microsecond)."""
    stamps = sorted(stamps)
    best, start = 0, 0
    for end, t in enumerate(stamps):
        while t - stamps[start] > width + 1e-6:
            start += 1
        best = max(best, end - start + 1)
    return best


def test_many_threads_share_one_bucket_and_never_exceed_rate_plus_burst(redis_client):
    # The slots as the bucket gave them, on Redis's clock: when a thread then got to send
    # depends on how busy the machine was, which the bucket does not promise.
    slots, lock = [], threading.Lock()

    def caller():
        throttle = FleetThrottle(redis_client, "deeporigin:test-bucket", rps=20, burst=5)
        for _ in range(10):
            slot = throttle.before_request()
            with lock:
                slots.append(slot)

    threads = [threading.Thread(target=caller) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(slots) == 60
    assert most_in_any_window(slots) <= 20 + 5
    # 60 requests at 20/s after a burst of 5 take at least (60 - 5) / 20 s
    assert max(slots) - min(slots) >= (60 - 5) / 20 - 1e-6


def test_a_long_wait_gives_the_thread_back_instead_of_sleeping(redis_client):
    throttle = FleetThrottle(redis_client, "deeporigin:slow", rps=0.1, burst=1)
    throttle.before_request()
    with pytest.raises(Throttled) as err:
        throttle.before_request()
    assert err.value.retry_after > MAX_SLEEP_S


def test_creates_draw_from_a_bucket_of_their_own(redis_client):
    pace = create_pace(redis_client, "deeporigin:paced", rps=0.1, burst=1)
    requests = FleetThrottle(redis_client, "deeporigin:paced", rps=0.1, burst=1)
    pace.before_request()
    requests.before_request()  # the create took no slot from the requests' bucket
    with pytest.raises(Throttled) as err:
        pace.before_request()  # the next create's slot is ten seconds off: handed back
    assert err.value.retry_after > MAX_SLEEP_S
    with pytest.raises(Throttled):
        requests.before_request()
    other = create_pace(redis_client, "deeporigin:another", rps=0.1, burst=1)
    other.before_request()  # another credential paces its creates on its own


def test_a_create_pace_of_zero_is_no_pace(redis_client):
    assert create_pace(redis_client, "deeporigin:unpaced", rps=0, burst=10) is None


def test_a_429_pauses_every_worker_of_that_credential_and_no_other(redis_client):
    slept = []
    one = FleetThrottle(redis_client, "moderately:cred", rps=None, burst=1)
    other = FleetThrottle(redis_client, "moderately:cred", rps=None, burst=1, sleep=slept.append)
    unrelated = FleetThrottle(redis_client, "moderately:other", rps=None, burst=1,
                              sleep=slept.append)
    one.rate_limited(5.0)
    unrelated.before_request()
    assert slept == []
    with pytest.raises(Throttled) as err:
        other.before_request()
    assert 3.0 < err.value.retry_after <= 5.001  # the 5 s pause, less the time since it began


def test_a_short_pause_is_slept_through(redis_client):
    naps = []

    def nap(seconds):
        naps.append(seconds)
        time.sleep(seconds)

    throttle = FleetThrottle(redis_client, "deeporigin:pause", rps=None, burst=1, sleep=nap)
    throttle.rate_limited(1.0)
    until = float(redis_client.hget(throttle.key, "pause_until"))
    went = throttle.before_request()
    assert len(naps) == 1 and 0 < naps[0] <= 1.001  # the rest of the pause, slept
    assert went >= until


def test_the_in_flight_cap_holds_jobs_back_until_others_end(redis_client):
    store = JobStore(redis_client)
    records = [Job.new("b", k, "deeporigin", "tool", {}) for k in "abc"]
    a, b, c = store.create_many(records, due_in=0)
    assert store.start_submitting(a, 2) == "ok"
    assert store.start_submitting(b, 2) == "ok"
    assert store.start_submitting(c, 2) == "at_limit"
    assert store.get(c).state == "queued"
    store.transition(a, ["submitting"], "running")
    assert store.in_flight("deeporigin") == 2
    store.transition(a, ["running"], "succeeded")
    assert store.in_flight("deeporigin") == 1
    assert store.start_submitting(c, 2) == "ok"
    assert store.start_submitting(c, 2) == "submitting"
