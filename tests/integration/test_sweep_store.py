"""The Redis side of status sweeps on a real Redis: the lease that lets exactly one process
sweep a credential, and pushing seen jobs' own polls out without ever bringing one forward."""

import time

from worker import scripts
from worker.keys import due_key, sweep_lease_key
from worker.store import JobStore

LEASE = sweep_lease_key("deeporigin:abc")


def test_exactly_one_holder_sweeps_and_another_takes_over_when_it_stops(redis_client):
    hold = redis_client.register_script(scripts.read("hold_lease"))
    assert hold(keys=[LEASE], args=["worker-a", 300]) == 1
    assert hold(keys=[LEASE], args=["worker-b", 300]) == 0  # a second sweeper waits
    assert hold(keys=[LEASE], args=["worker-a", 300]) == 1  # the holder renews
    time.sleep(0.4)  # the holder died: its lease runs out
    assert hold(keys=[LEASE], args=["worker-b", 300]) == 1
    assert hold(keys=[LEASE], args=["worker-a", 300]) == 0


def test_seen_jobs_polls_move_out_never_in_and_unknown_jobs_are_not_added(redis_client):
    store = JobStore(redis_client, clock=lambda: 1000.0)
    index = due_key("poll", "deeporigin")
    redis_client.zadd(index, {"soon": 1002.0, "later": 5000.0})
    moved = store.push_due("poll", "deeporigin", ["soon", "later", "stranger"], 1120.0)
    assert moved == 1
    assert redis_client.zscore(index, "soon") == 1120.0
    assert redis_client.zscore(index, "later") == 5000.0  # not brought forward
    assert redis_client.zscore(index, "stranger") is None  # not added
    assert sorted(store.due_ids("poll", "deeporigin")) == ["later", "soon"]
