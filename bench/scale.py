"""``python -m bench.scale``: many jobs in flight at once on this machine, then all ending.

``--jobs`` Deep Origin jobs whose run times (``--duration``, by default long enough for every
job to exist remotely before the first can end) keep them all in flight together, then end
within about a minute of each other. Measures the time to enqueue, the time until all exist
remotely, worker RSS per process over time, Redis bytes per job in flight, requests per
second to the platform and worker CPU while every job waits, detection delay as they end,
and whether every job ended as the emulator decided. Prints a table, then **one JSON object
as the last line**. Definitions and measured figures: ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.chaos_jobs import make_jobs, planned_duration
from bench.measure import (
    MB,
    cpu_seconds,
    do_credential,
    percentile,
    redis_used_bytes,
    request_figures,
    run_dir,
)
from bench.runs import PROVIDER, Run, figures, measure
from bench.systems import JobfleetSystem, run_emulator
from devtools.localfleet import EmulatorCredentials
from emulator.control import EmulatorControl
from emulator.settings import DurationSpec
from emulator.stats import max_in_any_window

SPREAD_S = 60  # the jobs end within this long of each other
SECONDS_PER_JOB = 0.006  # room to create every job remotely before the first one can end
MIN_WAIT_S = 45
RSS_POINTS = 12  # RSS over time: this many evenly spaced samples in the table
PEAK_WINDOW_S = 10.0  # "per second at peak": the busiest window of this width, averaged


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.split("\n")[0])
    p.add_argument("--jobs", type=int, default=100_000)
    p.add_argument("--workers", type=int, default=2, help="worker processes of 16 threads")
    p.add_argument("--duration", help="job run times (default: uniform:L,L+60 with "
                   f"L = max({MIN_WAIT_S}, {SECONDS_PER_JOB} s × jobs))")
    p.add_argument("--sample-every", type=float, default=2.0, metavar="S",
                   help="seconds between samples of RSS, Redis memory and jobs in flight")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--keep-logs", metavar="DIR", help="keep worker/emulator logs and Redis data")
    return p.parse_args(argv)


def default_duration(jobs: int) -> str:
    low = max(MIN_WAIT_S, round(SECONDS_PER_JOB * jobs))
    return f"uniform:{low},{low + SPREAD_S}"


LATE_OPEN_S = 30  # jobs still being created this close to the first end: measure anyway


@dataclass
class Window:
    """The stretch when the jobs wait: from when every job exists remotely until just before
    the first can end. On a machine too busy to create them all in time it opens anyway,
    :data:`LATE_OPEN_S` before the first end, and says how many existed (``remote_at_open``);
    then the status requests per second (creates left out) are the figure to read."""

    credential: str
    control: EmulatorControl
    pids: list[int]
    redis_url: str
    ends_at: float  # epoch: the earliest a remote job can end (t0 + shortest run time)
    opened: float | None = None
    closed: float | None = None
    remote_at_open: int = 0
    requests: list[dict[str, int]] = field(default_factory=list)  # at open, at close
    cpu: list[float] = field(default_factory=list)
    cpu_at_end: float | None = None  # after the last job ended: the ending phase's CPU
    redis_bytes: int = 0

    def watch(self, run: Run, remote: int) -> None:
        """Called on every wait tick: opens when all jobs are remote (or late), closes 1 s
        before the first job can end."""
        now = time.time()
        late = now >= self.ends_at - LATE_OPEN_S
        if self.opened is None and (remote >= run.jobs or late) and now < self.ends_at - 2:
            self.opened, self.remote_at_open = now, remote
            self._look()
            self.redis_bytes = redis_used_bytes(self.redis_url)
        elif self.opened is not None and self.closed is None and now >= self.ends_at - 1:
            self.closed = now
            self._look()

    def _look(self) -> None:
        stats = self.control.stats(brief=True)[PROVIDER]
        self.requests.append(request_figures(stats, self.credential))
        self.cpu.append(cpu_seconds(self.pids))

    def ending(self, run: Run) -> dict[str, Any]:
        """While the jobs end: the most that ended remotely, and the most our records made
        terminal, in any :data:`PEAK_WINDOW_S`; worker CPU from the window's close to the
        last terminal record, per job (sweeps included, finalize the bulk of it)."""
        ended = [r["finished_at"] for r in run.remote.values() if r and r["finished_at"]]
        final = [o.terminal_at for o in run.outcomes if o.terminal_at is not None]
        cpu = None
        if self.cpu and self.cpu_at_end is not None and len(self.cpu) == 2:
            cpu = round((self.cpu_at_end - self.cpu[1]) * 1000 / max(len(final), 1), 2)
        seen, waited = [], []  # detection split: ended → seen by a sweep → terminal
        for out in run.outcomes:
            record = run.remote.get(out.remote_id) if out.remote_id else None
            if out.seen_at and out.terminal_at and record and record["finished_at"]:
                seen.append(out.seen_at - record["finished_at"])
                waited.append(out.terminal_at - out.seen_at)
        return {
            "seen_p95_s": _round(percentile(seen, 95)),
            "seen_to_terminal_p95_s": _round(percentile(waited, 95)),
            "ended_per_s_peak": round(max_in_any_window(ended, PEAK_WINDOW_S) / PEAK_WINDOW_S, 1),
            "finalized_per_s_peak": round(
                max_in_any_window(final, PEAK_WINDOW_S) / PEAK_WINDOW_S, 1),
            "worker_cpu_ms_per_finalized_job": cpu,
        }

    def figures(self, run: Run) -> dict[str, Any]:
        if self.opened is None or self.closed is None:
            return {"waiting_window_s": None, **self.ending(run)}
        span = self.closed - self.opened
        first, last = self.requests
        return {
            "waiting_window_s": round(span, 1),
            "remote_at_open": self.remote_at_open,
            "requests_per_s_waiting": round((last["requests"] - first["requests"]) / span, 2),
            "status_requests_per_s_waiting": round(
                (last["status_requests"] - first["status_requests"]) / span, 2),
            "worker_cpu_s_per_s_waiting": round((self.cpu[1] - self.cpu[0]) / span, 3),
            # every job's record exists (queued or remote) and none has ended: all in flight
            "redis_bytes_per_job": round((self.redis_bytes - run.base_redis_bytes) / run.jobs),
            **self.ending(run),
        }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        spec = args.duration or default_duration(args.jobs)
        duration = DurationSpec.parse(spec)
        if args.jobs < 1 or args.workers < 1:
            raise ValueError("--jobs and --workers must be at least 1")
    except ValueError as exc:
        print(f"bench.scale: {exc}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    jobs = make_jobs(args.jobs, ["deeporigin"], duration=duration, failure_rate=0.1,
                     upload_share=0, upload_targets=[], rng=random.Random(args.seed))
    with run_dir(args.keep_logs, "jobfleet-scale-") as workdir:
        summary = run_scale(jobs, args, spec, workdir)
    render(summary)
    print(json.dumps(summary), flush=True)
    return 0


def run_scale(jobs: list[dict], args: argparse.Namespace, spec: str,
              workdir: Path) -> dict[str, Any]:
    credentials = EmulatorCredentials.generate()
    durations = [planned_duration(job) for job in jobs]
    # creating every job may take as long as the jobs run on a busy machine: room for both
    timeout_s = 2 * max(durations) + max(180, len(jobs) / 500)
    emulator = run_emulator(credentials, args.seed, workdir)
    system = JobfleetSystem(workdir / "jobfleet", emulator.root_url, credentials, args.workers)
    try:
        system.start()
        window = Window(do_credential(credentials.do_token), emulator.control, system.pids(),
                        system.redis_url, ends_at=0.0)

        def during(run: Run) -> None:
            window.ends_at = run.t0 + min(durations)
            states = system.fleet.status(system.batch)["states"]
            window.watch(run, run.jobs - states["queued"] - states["submitting"])

        print(f"bench.scale: {len(jobs)} jobs, run times {spec}", file=sys.stderr)
        run = measure(system, jobs, emulator.control, timeout_s,
                      sample_every_s=args.sample_every, during=during)
        window.cpu_at_end = cpu_seconds(window.pids)
    finally:
        system.close()
        emulator.stop()
    return summarise(run, window, args, spec, do_credential(credentials.do_token))


def summarise(run: Run, window: Window, args: argparse.Namespace, spec: str,
              credential: str) -> dict[str, Any]:
    fig = figures(run, credential)
    samples = run.sampler.samples
    step = max(1, len(samples) // RSS_POINTS)
    rss_over_time = [[s.t, *(round(r / MB, 1) for r in s.rss)] for s in samples[::step]]
    keep = ("jobs", "terminal", "not_terminal", "wrong_state", "enqueue_jobs_per_s",
            "all_remote_s", "peak_running", "peak_worker_rss_mb", "detection_p50_s",
            "detection_p95_s", "detection_max_s", "makespan_s", "longest_job_s", "requests_per_job",
            "status_requests_per_job", "busiest_second", "worker_cpu_ms_per_job", "timed_out")
    return {
        "durations": spec, "workers": args.workers, "threads_per_worker": 16,
        "loadavg_end": [round(x, 2) for x in os.getloadavg()],
        "enqueue_s": round(run.enqueue_s, 2),
        **{key: fig[key] for key in keep},
        **window.figures(run),
        "rss_mb_over_time": rss_over_time,
    }


def render(summary: dict[str, Any]) -> None:
    print(f"{summary['jobs']:,} Deep Origin jobs in flight, run times {summary['durations']}, "
          f"{summary['workers']} workers × 16 threads, load {summary['loadavg_end']}")
    rows = [
        ("time to enqueue (s)", summary["enqueue_s"], ""),
        ("enqueue rate (jobs/s)", summary["enqueue_jobs_per_s"], ""),
        ("time until all exist remotely (s)", summary["all_remote_s"], ""),
        ("most remote jobs running at once", summary["peak_running"], f"= {summary['jobs']}"),
        ("peak worker RSS per process (MB)", summary["peak_worker_rss_mb"], "≤ 250, flat"),
        ("Redis bytes per job in flight", summary.get("redis_bytes_per_job"), "≤ 2,048"),
        ("requests/s to the platform while waiting", summary.get("requests_per_s_waiting"),
         "≤ 50"),
        ("  of which status reads (creates left out)",
         summary.get("status_requests_per_s_waiting"), ""),
        ("jobs existing remotely when the window opened", summary.get("remote_at_open"),
         f"= {summary['jobs']}"),
        ("worker CPU while waiting (s/s)", summary.get("worker_cpu_s_per_s_waiting"), ""),
        ("waiting window measured (s)", summary.get("waiting_window_s"), ""),
        ("detection delay p50 / p95 / max (s)", f"{summary['detection_p50_s']} / "
         f"{summary['detection_p95_s']} / {summary['detection_max_s']}", "p95 ≤ 10"),
        ("  of which: ended → seen ended, p95 (s)", summary.get("seen_p95_s"), ""),
        ("  of which: seen ended → terminal, p95 (s)", summary.get("seen_to_terminal_p95_s"), ""),
        ("jobs ending remotely per s at peak (10 s)", summary.get("ended_per_s_peak"), ""),
        ("jobs finalized per s at peak (10 s)", summary.get("finalized_per_s_peak"), ""),
        ("worker CPU per finalized job while ending (ms)",
         summary.get("worker_cpu_ms_per_finalized_job"), ""),
        ("jobs terminal", summary["terminal"], f"= {summary['jobs']}"),
        ("not as the emulator decided / not terminal",
         f"{summary['wrong_state']} / {summary['not_terminal']}", "0 / 0"),
        ("makespan / longest job (s)", f"{summary['makespan_s']} / {summary['longest_job_s']}", ""),
    ]
    print("| figure | jobfleet | target |\n|---|---|---|")
    for label, value, target in rows:
        print(f"| {label} | {'–' if value is None else value} | {target} |")
    print("RSS per worker process over time (s: MB, MB, ...): " + ", ".join(
        f"{p[0]:g}: {'/'.join(f'{m:g}' for m in p[1:])}" for p in summary["rss_mb_over_time"]))


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(143)  # unwinds through the cleanup: no process is left behind


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


if __name__ == "__main__":
    sys.exit(main())
