"""Crashes mid-run: a worker SIGKILLed, Redis restarted. No job lost, none created twice."""

from __future__ import annotations

import signal
import time

import pytest

from tests.fixtures.fleet import private_fleet, wait_done

pytestmark = pytest.mark.integration
LEASE_S = 6  # short, so the killed worker's jobs come back within wait_done's timeout


def jobs(prefix: str, n: int, duration_s: float) -> list[dict]:
    return [{"key": f"{prefix}-{i}", "provider": "deeporigin", "kind": "tool",
             "params": {"tool": "deeporigin.docking",
                        "inputs": {"n": i, "_emulator": {"duration_s": duration_s}}}}
            for i in range(n)]


def created_remotely(status: dict) -> int:
    return status["total"] - status["states"]["queued"] - status["states"]["submitting"]


def created(emulator) -> tuple[int, int]:
    stats = emulator.stats()["deeporigin"]
    return stats["executions_created"], stats["duplicate_tags"]


def test_a_worker_killed_mid_run_loses_no_job_and_creates_none_twice(
    private_emulator, tmp_path
):
    before, dup_before = created(private_emulator)
    with private_fleet(private_emulator, tmp_path, workers=2,
                       JOBFLEET_LEASE_S=str(LEASE_S)) as (fleet, pool):
        batch = fleet.enqueue_batch(jobs("kill", 40, 3.0), batch="killed-worker")
        deadline = time.monotonic() + 60
        while created_remotely(fleet.status(batch)) < 10:  # the workers are mid-run
            assert time.monotonic() < deadline, f"no work under way: {fleet.status(batch)}"
            time.sleep(0.1)
        victim = pool.procs.pop("p0")
        victim.send_signal(signal.SIGKILL)
        status = wait_done(fleet, batch, timeout_s=60)
    assert status["states"]["succeeded"] == 40
    after, dup_after = created(private_emulator)
    assert after - before == 40
    assert dup_after == dup_before


def test_redis_restarts_mid_run_lose_no_accepted_job_and_no_worker(private_emulator, tmp_path):
    before, dup_before = created(private_emulator)
    with private_fleet(private_emulator, tmp_path, workers=2) as (fleet, pool):
        batch = fleet.enqueue_batch(jobs("restart", 30, 2.0), batch="redis-restart")
        for _ in range(3):
            time.sleep(1.0)
            pool.redis_server.restart()
        status = wait_done(fleet, batch, timeout_s=90)
        exited = {name: proc.poll() for name, proc in pool.procs.items() if proc.poll() is not None}
    assert exited == {}, f"workers exited: {exited}"
    assert status["total"] == 30
    assert status["states"]["succeeded"] == 30
    after, dup_after = created(private_emulator)
    assert after - before == 30
    assert dup_after == dup_before
