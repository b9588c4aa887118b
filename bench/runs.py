"""One measured run of a system, and its figures judged against what the emulator decided.

The emulator is reset before each run, so its stats hold this run's requests only. The
order is fixed: start workers → note Redis memory and worker CPU → enqueue (timed) → wait
until nothing is in flight or the time is up → read our records → ask the emulator about
every remote job. Detection delay is *our record terminal − remote job ended*, both as
epoch seconds on this one machine. Makespan is the last record terminal − the start of the
enqueue; *ideal* is when the last remote job ended − the same start, so makespan / ideal is
how much later than the platform itself the system was done; makespan / longest job also
counts the time the system took to create its jobs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.measure import (
    MB,
    Sampler,
    cpu_seconds,
    emulator_jobs,
    percentile,
    redis_used_bytes,
    request_figures,
)
from bench.systems import Outcome, System
from emulator.control import EmulatorControl
from emulator.stats import max_in_any_window

PROVIDER = "deeporigin"
WAIT_TICK_S = 0.5


@dataclass
class Run:
    """What happened in one run, raw; :func:`figures` turns it into the reported numbers."""

    system: str
    jobs: int
    t0: float = 0.0  # epoch, enqueue started
    enqueue_s: float = 0.0
    waited_s: float = 0.0
    base_redis_bytes: int = 0
    cpu_s: float = 0.0
    outcomes: list[Outcome] = field(default_factory=list)
    remote: dict[str, dict | None] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    sampler: Sampler | None = None
    timed_out: bool = False


def measure(system: System, jobs: list[dict], control: EmulatorControl, timeout_s: float,
            *, sample_every_s: float = 0.5,
            during: Callable[[Run], None] | None = None) -> Run:
    """Runs ``jobs`` through a started ``system``; ``during`` is called on every wait tick."""
    run = Run(system.name, len(jobs))
    control.reset()
    run.base_redis_bytes = redis_used_bytes(system.redis_url)
    pids = system.pids()
    cpu0 = cpu_seconds(pids)
    run.sampler = Sampler(pids, system.redis_url, system.in_flight, every_s=sample_every_s)
    run.sampler.start()
    run.t0 = time.time()
    system.enqueue(jobs)
    run.enqueue_s = time.time() - run.t0
    deadline = run.t0 + timeout_s
    while system.in_flight() > 0:
        if time.time() > deadline:
            run.timed_out = True
            break
        if during is not None:
            during(run)
        time.sleep(WAIT_TICK_S)
    run.waited_s = time.time() - run.t0
    run.cpu_s = cpu_seconds(pids) - cpu0
    run.sampler.stop()
    run.outcomes = system.outcomes()
    ids = [o.remote_id for o in run.outcomes if o.remote_id]
    run.remote = emulator_jobs(control.root_url, PROVIDER, ids)
    run.stats = control.stats(brief=True)[PROVIDER]
    return run


def verdict(run: Run) -> dict[str, Any]:
    """Terminal and as the emulator decided, per job; detection delays; makespan."""
    delays, wrong, not_terminal, last = [], 0, 0, run.t0
    for out in run.outcomes:
        record = run.remote.get(out.remote_id) if out.remote_id else None
        if out.state is None:
            not_terminal += 1
            continue
        last = max(last, out.terminal_at)
        if record is None or record["outcome"] != out.state or record["finished_at"] is None:
            wrong += 1
            continue
        delays.append(out.terminal_at - record["finished_at"])
    records = [r for r in run.remote.values() if r]
    longest = max((r["queue_s"] + r["duration_s"] for r in records), default=None)
    ended = [r["finished_at"] for r in records if r["finished_at"] is not None]
    created = [r["created_at"] for r in records]
    return {
        "terminal": len(run.outcomes) - not_terminal,
        "not_terminal": not_terminal + (run.jobs - len(run.outcomes)),
        "wrong_state": wrong,
        "detection_p50_s": _round(percentile(delays, 50)),
        "detection_p95_s": _round(percentile(delays, 95)),
        "detection_max_s": _round(max(delays, default=None)),
        "makespan_s": round(last - run.t0, 2),
        # ideal: an observer who knew each remote job's end at once would be done when the
        # last one ended (emulator clock); creation is in both makespan and ideal
        "ideal_s": _round(max(ended) - run.t0 if ended else None),
        "longest_job_s": _round(longest),  # one remote job's queue + run time, nothing else
        "all_remote_s": _round(max(created) - run.t0 if created else None),
        # creations alone, by the emulator's clock: how much of the busiest second they are
        "busiest_second_creates": max_in_any_window(created),
    }


def figures(run: Run, credential: str) -> dict[str, Any]:
    """Every reported figure of one run."""
    judged = verdict(run)
    req = request_figures(run.stats, credential)
    n = run.jobs
    sampler = run.sampler
    return {
        **judged,
        "jobs": n,
        "enqueue_jobs_per_s": round(n / run.enqueue_s, 1) if run.enqueue_s else None,
        "status_requests_per_job": round(req["status_requests"] / n, 3),
        "requests_per_job": round(req["requests"] / n, 3),
        "busiest_second": req["busiest_second"],
        "peak_running": req["peak_running"],
        "makespan_over_ideal": _over(judged["makespan_s"], judged["ideal_s"]),
        "makespan_over_longest_job": _over(judged["makespan_s"], judged["longest_job_s"]),
        "peak_worker_rss_mb": round(sampler.peak_rss() / MB, 1),
        "redis_bytes_per_job_in_flight": _round(
            sampler.bytes_per_job_in_flight(run.base_redis_bytes), 0),
        "worker_cpu_ms_per_job": round(run.cpu_s * 1000 / n, 2),
        "timed_out": run.timed_out,
        "requests_by_endpoint": req["requests_by_endpoint"],
    }


def _over(value: float, base: float | None) -> float | None:
    return round(value / base, 3) if base else None


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)
