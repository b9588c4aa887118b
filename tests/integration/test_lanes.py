"""The queue's two lanes on a real Redis (worker.broker): a message of work already started is
taken before the new jobs' messages queued ahead of it, and a queue's length is read over
every list the transport keeps for it."""

from __future__ import annotations

import time
import uuid

import pytest
import redis

from config.settings import FleetSettings
from devtools.localfleet import RedisServer, fleet_env
from producers.api import Fleet
from tests.fixtures.fleet import TEST_SETTINGS, WorkerPool, wait_done
from worker.broker import STARTED_PRIORITY, UNSTARTED_PRIORITY, queue_lists, queued
from worker.keys import pickup_key
from worker.pickup import lane_name
from worker.record import Job

pytestmark = pytest.mark.integration

NEW_JOBS = 12
QUEUED_FIRST = 8  # new jobs' messages waiting when the started job becomes due
# one thread takes one message at a time; submit messages of one job; no message is sent
# again while it waits (a window far longer than this test)
ONE_AT_A_TIME = {"JOBFLEET_CHUNK_SIZE": "4", "JOBFLEET_PICKUP_S": "300",
                 "JOBFLEET_PICKUP_MAX_S": "300"}


def job(batch: str, key: str) -> Job:
    params = {"tool": "deeporigin.docking", "version": "latest",
              "inputs": {"ligand": key, "_emulator": {"duration_s": 0.5}}}
    return Job.new(batch, key, "deeporigin", "tool", params)


def wait_until(condition, what: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not {what} after {timeout_s}s")
        time.sleep(0.05)


def test_a_queue_length_counts_the_messages_of_every_lane(redis_server):
    queue = f"lanes-{uuid.uuid4().hex[:8]}"  # a queue no worker of the session consumes
    fleet = Fleet(FleetSettings(redis_url=redis_server.url))
    client = redis.Redis.from_url(redis_server.url)
    try:
        for priority in (UNSTARTED_PRIORITY,) * 3 + (STARTED_PRIORITY,) * 2:
            fleet.celery.send_task("lanes.probe", args=[[]], queue=queue, priority=priority)
        written = {key.decode() for key in client.scan_iter(match=f"{queue}*")}
        assert len(written) == 2 and written <= set(queue_lists(queue))  # kombu's names
        assert queued(client, queue) == 5  # what the new jobs' lane waits behind
        assert queued(client, queue, STARTED_PRIORITY) == 2  # what the started lane does
    finally:
        client.delete(*queue_lists(queue))
        client.close()
        fleet.close()


def test_a_started_jobs_message_overtakes_the_new_jobs_messages_queued_before_it(
        private_emulator, tmp_path):
    """One worker thread, every platform request slow: the dispatcher has sent the new jobs'
    messages, most of which wait in the queue, when a job whose create must be made again
    (its worker's lease ran out) comes due. Its message is the next one taken."""
    server = RedisServer(tmp_path / "redis").start()
    env = fleet_env(server.url, private_emulator.url, tmp_path / "results",
                    **{**TEST_SETTINGS, **ONE_AT_A_TIME})
    pool = WorkerPool(env, tmp_path, server)
    fleet = Fleet(FleetSettings(redis_url=server.url))
    batch = f"lanes-{uuid.uuid4().hex[:8]}"
    try:
        private_emulator.configure(fault_slow=1.0, slow_s=0.3)
        pool.start("p0", extra=["--concurrency=1"])
        store = fleet.store
        new = store.create_many([job(batch, f"new-{i}") for i in range(NEW_JOBS)], due_in=0)
        wait_until(lambda: queued(store.redis, "jobfleet.submit") >= QUEUED_FIRST,
                   f"{QUEUED_FIRST} new jobs' messages queued")
        assert queued(store.redis, "jobfleet.submit", STARTED_PRIORITY) == 0
        [started] = store.create_many([job(batch, "started")], due_in=3600)
        store.transition(started, ["queued"], "submitting", schedule=("submit", store.clock()))
        status = wait_done(fleet, batch, timeout_s=180)
        records = {record.id: record for record in store.get_many([started, *new])}
        for lane in (lane_name("submit"), lane_name("submit", True)):  # told apart by the
            # priority each message was delivered with, each lane's waits are its own
            wait_until(lambda lane=lane: store.redis.hlen(pickup_key(lane)) > 0,
                       f"a wait of lane {lane} published")
    finally:
        private_emulator.restore_defaults()
        fleet.close()
        pool.stop_all()
        server.stop()
    assert status["states"]["succeeded"] == NEW_JOBS + 1
    created = records[started].times["running"]
    after = [job_id for job_id in new if records[job_id].times["submitting"] > created]
    # all but the one or two messages the worker held when it came due were taken after it
    assert len(after) >= QUEUED_FIRST - 2
