"""A worker's consumer after its Redis connections are cut while every thread is busy.

Cutting them (``CLIENT KILL``, as a proxy or a Redis restart does) used to leave the consumer
hung for good while the process lived on (see ``bench/README.md``, "A consumer that stops
taking messages"). The fleet's transport now reconnects instead; kombu's own transport is
the negative control, where the stall check (``worker.liveness``) must end the worker. A
consumer that stalls while its event loop goes on is ended by a warm shutdown.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
import redis

from devtools.localfleet import start_worker, stop_process, wait_workers_ready
from tests.fixtures.fleet import private_fleet, wait_done
from worker.liveness import EXIT_CODE

pytestmark = pytest.mark.integration
THREADS = 16  # the worker's default concurrency: one message each (chunks of one job)
STALL_S = 10  # the shortest bound the setting takes
STALL_LINE = "consumer stalled"
HARD_EXIT_LINE = "warm shutdown did not end"
BUSY = {"JOBFLEET_CHUNK_SIZE": "1", "JOBFLEET_CONSUMER_STALL_S": str(STALL_S),
        "JOBFLEET_HTTP_TIMEOUT_S": "60", "JOBFLEET_HTTP_RETRIES": "0"}


def jobs(prefix: str, n: int) -> list[dict]:
    return [{"key": f"{prefix}-{i}", "provider": "deeporigin", "kind": "tool",
             "params": {"tool": "deeporigin.docking",
                        "inputs": {"n": i, "_emulator": {"duration_s": 0.5}}}}
            for i in range(n)]


def wait_for_count(path: Path, text: str, count: int, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while path.read_text(errors="replace").count(text) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"{text!r} not {count} times in {path} after {timeout_s}s")
        time.sleep(0.1)


def busy_then_cut(fleet, emulator, log: Path, redis_port: int, slow_s: float) -> str:
    """Fills every thread of the worker writing ``log`` with a step waiting on a slow platform,
    then cuts all of its Redis connections at once; returns the batch."""
    emulator.configure(fault_slow=1.0, slow_s=slow_s)
    batch = fleet.enqueue_batch(jobs("busy", 2 * THREADS), batch=f"busy-{time.time_ns()}")
    wait_for_count(log, "] received", THREADS)
    client = redis.Redis(port=redis_port)
    me = client.client_id()
    for connection in client.client_list():
        if int(connection["id"]) != me:
            client.client_kill_filter(_id=connection["id"])
    client.close()
    emulator.configure(fault_slow=0.0)
    return batch


def test_a_busy_worker_whose_connections_are_cut_goes_on_taking_messages(
        private_emulator, tmp_path):
    with private_fleet(private_emulator, tmp_path, workers=1, **BUSY) as (fleet, pool):
        log = tmp_path / "p0.log"
        busy = busy_then_cut(fleet, private_emulator, log, pool.redis_server.port, slow_s=3)
        after = fleet.enqueue_batch(jobs("after", 10), batch=f"after-{time.time_ns()}")
        done = [wait_done(fleet, batch, timeout_s=120) for batch in (busy, after)]
        alive = pool.procs["p0"].poll() is None
    private_emulator.restore_defaults()
    assert [status["states"].get("succeeded") for status in done] == [2 * THREADS, 10]
    assert alive
    text = log.read_text(errors="replace")
    assert "Connection to broker lost" in text  # the cut reached Celery, which reconnected
    assert STALL_LINE not in text


def test_a_stalled_consumer_ends_its_worker_and_a_new_one_finishes_the_work(
        private_emulator, tmp_path):
    """Negative control: kombu's own transport hangs on the cut; the check notices it, the
    worker exits for its supervisor, and the replacement (started here, as a supervisor would)
    finishes every job, the stalled worker's too."""
    with private_fleet(private_emulator, tmp_path, workers=0, **BUSY) as (fleet, pool):
        log = tmp_path / "stock.log"
        stock = start_worker(pool.env, "stock", log, app="tests.fixtures.stock_broker")
        try:
            wait_workers_ready({"stock": stock}, tmp_path, timeout_s=60)
            busy = busy_then_cut(fleet, private_emulator, log, pool.redis_server.port,
                                 slow_s=3)
            after = fleet.enqueue_batch(jobs("after", 10), batch=f"after-{time.time_ns()}")
            status = stock.wait(timeout=180)
        finally:
            stop_process(stock, signal.SIGKILL)
        pool.start("p0")  # the supervisor's replacement
        done = [wait_done(fleet, batch, timeout_s=120) for batch in (busy, after)]
    private_emulator.restore_defaults()
    assert status == EXIT_CODE
    lines = [line for line in log.read_text(errors="replace").splitlines() if STALL_LINE in line]
    assert len(lines) == 1, lines
    assert "JOBFLEET_CONSUMER_STALL_S=10" in lines[0]
    assert [s["states"].get("succeeded") for s in done] == [2 * THREADS, 10]


def test_the_stall_check_never_trips_while_busy_idle_or_across_a_redis_restart(
        private_emulator, tmp_path):
    with private_fleet(private_emulator, tmp_path, workers=1, **BUSY) as (fleet, pool):
        log = tmp_path / "p0.log"
        # busy on every thread, with work waiting, for longer than the bound: the slow
        # answers come a little after the wait below, which ends before the next ones go out
        private_emulator.configure(fault_slow=1.0, slow_s=STALL_S * 1.5 + 2)
        busy = fleet.enqueue_batch(jobs("busy", 2 * THREADS), batch="slow")
        wait_for_count(log, "] received", THREADS)
        time.sleep(STALL_S * 1.5)  # a stall needs the whole bound; six looks per bound
        private_emulator.configure(fault_slow=0.0)
        wait_done(fleet, busy, timeout_s=180)
        # a Redis restart in the middle of a batch
        batch = fleet.enqueue_batch(jobs("restart", 30), batch="restart")
        wait_for_count(log, "] received", 2 * THREADS + 1)
        pool.redis_server.restart()
        restarted = wait_done(fleet, batch, timeout_s=120)
        # idle, nothing waiting, for longer than the bound
        time.sleep(STALL_S * 1.5)  # a stall needs the whole bound; six looks per bound
        alive = pool.procs["p0"].poll() is None
    private_emulator.restore_defaults()
    assert restarted["states"].get("succeeded") == 30
    assert alive
    assert STALL_LINE not in log.read_text(errors="replace")


def test_a_consumer_stalled_under_a_live_event_loop_ends_its_worker_by_a_warm_shutdown(
        private_emulator, tmp_path):
    """The consumer stops asking for messages while its event loop runs on: the check sees
    it, the loop itself shuts the worker down (no cut after the grace), with the stall's exit
    status, and a new worker finishes the jobs."""
    stall_file = tmp_path / "stall"
    with private_fleet(private_emulator, tmp_path, workers=0, **BUSY) as (fleet, pool):
        log = tmp_path / "stalling.log"
        env = {**pool.env, "STALLING_BROKER_FILE": str(stall_file)}
        stalling = start_worker(env, "stalling", log, app="tests.fixtures.stalling_broker")
        try:
            wait_workers_ready({"stalling": stalling}, tmp_path, timeout_s=60)
            stall_file.touch()
            batch = fleet.enqueue_batch(jobs("stalled", 10), batch=f"stalled-{time.time_ns()}")
            status = stalling.wait(timeout=180)
        finally:
            stop_process(stalling, signal.SIGKILL)
        pool.start("p0")  # the supervisor's replacement
        done = wait_done(fleet, batch, timeout_s=120)
    text = log.read_text(errors="replace")
    assert status == EXIT_CODE
    assert text.count(STALL_LINE) == 1
    assert HARD_EXIT_LINE not in text
    assert done["states"].get("succeeded") == 10
