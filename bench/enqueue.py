"""``python -m bench.enqueue``: how fast a job file is validated and enqueued.

Writes a ``--jobs``-line job file (jobs of every built-in platform, round-robin, as
``emulator.samples`` makes them), starts an empty Redis (no workers: nothing drains the
queue while we time it) and measures, each on a fresh batch:

- ``jobfleet submit FILE``, the command as a user runs it (a new process: start-up included);
- the same path in this process, split into reading + validating (``parse_lines``) and
  writing (``Fleet.add_valid``: records, batch counters, due index, submit messages);
- ``Fleet.enqueue_batch`` on the job dicts (validation included).

Then checks that every job exists once, queued, and due for its first submit (its platform's
index of jobs not yet started). Prints a table, then **one JSON object as the last line**.
``--profile`` prints the in-process path's hottest functions (cProfile) to stderr.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import redis

from bench.chaos_jobs import make_jobs
from config.settings import FleetSettings
from devtools.localfleet import EXAMPLE_PROVIDERS_DIR, REPO, RedisServer, fleet_env
from emulator.settings import DurationSpec
from producers.api import Fleet
from producers.jobfile import parse_lines
from worker import keys

TARGET_JOBS_PER_S = 20_000
BUILT_IN = ("deeporigin", "moderately", "openprotein")  # need no spec directory


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.enqueue",
                                description=__doc__.split("\n")[0])
    p.add_argument("--jobs", type=int, default=100_000)
    p.add_argument("--platforms", default=",".join(BUILT_IN),
                   help=f"comma list of platforms for the jobs [{','.join(BUILT_IN)}]")
    p.add_argument("--profile", action="store_true", help="cProfile the in-process path")
    p.add_argument("--seed", type=int, default=1)
    return p.parse_args(argv)


def write_job_file(path: Path, n: int, platforms: list[str], seed: int) -> list[dict]:
    jobs = make_jobs(n, platforms, duration=DurationSpec.parse("uniform:60,120"),
                     failure_rate=0.0, upload_share=0.0, upload_targets=[],
                     rng=random.Random(seed))
    with path.open("w") as out:
        for job in jobs:
            # no emulator runs here: OpenProtein's override (sent ahead to one) is dropped
            job["params"].pop("_emulator", None)
            out.write(json.dumps(job, separators=(",", ":")) + "\n")
    return jobs


@dataclass
class Span:
    """Wall seconds, and CPU seconds of the producer and of Redis, over one timed stretch."""

    wall: float = 0.0
    producer_cpu: float = 0.0
    redis_cpu: float = 0.0

    def rate(self, n: int) -> int:
        return round(n / self.wall) if self.wall else 0

    def as_dict(self) -> dict[str, float]:
        return {k: round(v, 3) for k, v in vars(self).items()}


class Timer:
    """Measures spans: wall clock, this process's (or a child's) CPU, the Redis server's CPU."""

    def __init__(self, redis_pid: int) -> None:
        self.redis = psutil.Process(redis_pid)

    def _now(self, child: bool) -> tuple[float, float, float]:
        if child:
            usage = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = usage.ru_utime + usage.ru_stime
        else:
            cpu = time.process_time()
        times = self.redis.cpu_times()
        return time.perf_counter(), cpu, times.user + times.system

    def span(self, run: Callable[[], Any], child: bool = False) -> tuple[Span, Any]:
        start = self._now(child)
        value = run()
        end = self._now(child)
        return Span(*(b - a for a, b in zip(start, end))), value


def run_cli(path: Path, redis_url: str, batch: str) -> None:
    env = fleet_env(redis_url, None, path.parent / "results",
                    JOBFLEET_PROVIDERS_DIR=str(EXAMPLE_PROVIDERS_DIR))
    done = subprocess.run([sys.executable, "-m", "producers.cli", "submit", str(path),
                           "--batch", batch], env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=600)
    if done.returncode != 0 or done.stdout.strip() != batch:
        raise RuntimeError(f"jobfleet submit failed ({done.returncode}): {done.stderr[-2000:]}")


def read_and_validate(path: Path) -> list[dict]:
    jobs, errors = parse_lines(path.read_bytes().splitlines())
    if errors:
        raise RuntimeError(f"{len(errors)} lines rejected, first: {errors[0]}")
    return jobs


def profiled(run: Callable[[], Any]) -> tuple[Any, str]:
    profiler = cProfile.Profile()
    value = profiler.runcall(run)
    buffer = io.StringIO()
    pstats.Stats(profiler, stream=buffer).sort_stats("tottime").print_stats(25)
    return value, buffer.getvalue()


def check_batch(fleet: Fleet, batch: str, n: int) -> dict[str, Any]:
    """Every job exists once, queued; the submit messages carry every id exactly once."""
    counts = fleet.store.batch_counts(batch) or {}
    ids = [i for page in fleet.store.batch_job_ids(batch) for i in page]
    return {"total": counts.get("total"), "queued": counts.get("queued"),
            "ids": len(ids), "distinct_ids": len(set(ids)), "ok": counts.get("total") == n
            and counts.get("queued") == n and len(set(ids)) == n}


def due_for_submit(redis_url: str, platforms: list[str]) -> int:
    """Jobs waiting for their first submit (the platforms' indexes of jobs not yet started),
    where dispatchers pick them up."""
    client = redis.Redis.from_url(redis_url)
    try:
        return sum(client.zcard(keys.unstarted_key(p)) for p in platforms)
    finally:
        client.close()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    platforms = [p.strip() for p in args.platforms.split(",") if p.strip()]
    if args.jobs < 1 or not platforms or any(p not in BUILT_IN for p in platforms):
        print(f"bench.enqueue: --jobs ≥ 1; platforms among {', '.join(BUILT_IN)}",
              file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    workdir = Path(tempfile.mkdtemp(prefix="jobfleet-enqueue-"))
    redis_server = RedisServer(workdir / "redis")
    try:
        redis_server.start()
        summary = measure(args, platforms, workdir, redis_server)
    finally:
        redis_server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    render(summary)
    print(json.dumps(summary), flush=True)
    return 0 if summary["checks_ok"] else 1


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(143)  # unwinds through the cleanup: Redis is stopped


def measure(args: argparse.Namespace, platforms: list[str], workdir: Path,
            redis_server: RedisServer) -> dict[str, Any]:
    path = workdir / "jobs.jsonl"
    jobs = write_job_file(path, args.jobs, platforms, args.seed)
    n = args.jobs
    timer = Timer(redis_server.proc.pid)
    cli, _ = timer.span(lambda: run_cli(path, redis_server.url, "bench-cli"), child=True)
    fleet = Fleet(FleetSettings(redis_url=redis_server.url))
    profile = ""
    try:
        parse, valid = timer.span(lambda: read_and_validate(path))
        write, _ = timer.span(lambda: fleet.add_valid("bench-inproc", valid))
        api, _ = timer.span(lambda: fleet.enqueue_batch(jobs, batch="bench-api"))
        if args.profile:
            _, profile = profiled(lambda: fleet.add_valid("bench-profile", read_and_validate(path)))
        checks = {b: check_batch(fleet, b, n) for b in ("bench-cli", "bench-inproc", "bench-api")}
    finally:
        fleet.close()
    if profile:
        print(profile, file=sys.stderr)
    due = due_for_submit(redis_server.url, platforms)
    batches = 4 if args.profile else 3
    inproc = Span(parse.wall + write.wall, parse.producer_cpu + write.producer_cpu,
                  parse.redis_cpu + write.redis_cpu)
    return {
        "jobs": n, "platforms": platforms, "file_bytes": path.stat().st_size,
        "cpus": os.cpu_count(), "loadavg_end": [round(x, 2) for x in os.getloadavg()],
        "cli": cli.as_dict(), "cli_jobs_per_s": cli.rate(n),
        "parse_validate": parse.as_dict(), "write": write.as_dict(),
        "in_process_jobs_per_s": inproc.rate(n),
        "in_process_jobs_per_producer_cpu_s": round(n / inproc.producer_cpu),
        "enqueue_batch": api.as_dict(), "enqueue_batch_jobs_per_s": api.rate(n),
        "due_for_submit": due, "checks": checks,
        "checks_ok": all(c["ok"] for c in checks.values()) and due == batches * n,
        "target_jobs_per_s": TARGET_JOBS_PER_S,
    }


def render(s: dict[str, Any]) -> None:
    print(f"{s['jobs']:,} jobs ({', '.join(s['platforms'])}), file {s['file_bytes']:,} bytes, "
          f"{s['cpus']} CPUs, load {s['loadavg_end']}")
    print("| path | wall s | jobs/s | producer CPU s | Redis CPU s | target |")
    print("|---|---|---|---|---|---|")
    parse, write = s["parse_validate"], s["write"]
    inproc = {k: parse[k] + write[k] for k in parse}
    rows = [("`jobfleet submit FILE` (new process, start-up included)", s["cli"],
             s["cli_jobs_per_s"]),
            ("in process: read + validate + write", inproc, s["in_process_jobs_per_s"]),
            ("  of which read + validate (`parse_lines`)", parse, None),
            ("  of which write (`Fleet.add_valid`)", write, None),
            ("`Fleet.enqueue_batch(dicts)` (validation included)", s["enqueue_batch"],
             s["enqueue_batch_jobs_per_s"])]
    for label, span, rate in rows:
        target = f"≥ {s['target_jobs_per_s']:,}" if rate is not None else ""
        print(f"| {label} | {span['wall']:.3f} | {'' if rate is None else f'{rate:,}'} | "
              f"{span['producer_cpu']:.3f} | {span['redis_cpu']:.3f} | {target} |")
    print(f"jobs per producer CPU-second (in process): "
          f"{s['in_process_jobs_per_producer_cpu_s']:,}")
    print(f"every job once and queued, every job due for submit: {s['checks_ok']}")


if __name__ == "__main__":
    sys.exit(main())
