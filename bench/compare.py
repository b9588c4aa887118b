"""``python -m bench.compare``: jobfleet against the usual Celery pattern, one after the other.

The same Deep Origin jobs (run times drawn from ``--durations``), the same emulator (reset
between the runs), the same worker shape (``--workers`` processes of 16 threads): first the
baseline of :mod:`bench.naive.app` — a ``submit`` task, then a ``poll`` task retrying itself
every 5 s —, then jobfleet with its default settings. Prints a table of both runs and the
ratio jobfleet / baseline for each figure, then **one JSON object as the last line**.
Definitions and measured figures: ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sys
from pathlib import Path
from typing import Any

from bench.chaos_jobs import make_jobs, planned_duration
from bench.measure import do_credential, ratio, run_dir
from bench.runs import figures, measure
from bench.systems import JobfleetSystem, NaiveSystem, System, run_emulator
from devtools.localfleet import EmulatorCredentials
from emulator.settings import DurationSpec

SLACK_S = 180  # a run is cut off this long after its longest job should have ended
SYSTEMS = {"naive": NaiveSystem, "jobfleet": JobfleetSystem}
# (key, label, target for jobfleet as the issue states it)
ROWS = [
    ("enqueue_jobs_per_s", "enqueue rate (jobs/s)", ""),
    ("status_requests_per_job", "status requests per job", "≤ 0.5"),
    ("requests_per_job", "all requests per job", ""),
    ("detection_p50_s", "detection delay p50 (s)", ""),
    ("detection_p95_s", "detection delay p95 (s)", "≤ 3"),
    ("detection_max_s", "detection delay max (s)", ""),
    ("makespan_over_ideal", "makespan / ideal", "≤ 1.05"),
    ("makespan_over_longest_job", "makespan / longest job", ""),
    ("busiest_second", "busiest second of requests", "< baseline"),
    ("busiest_second_creates", "most creates (POST) in any second", ""),
    ("peak_worker_rss_mb", "peak worker RSS (MB)", ""),
    ("redis_bytes_per_job_in_flight", "Redis bytes per job in flight", ""),
    ("worker_cpu_ms_per_job", "worker CPU per job (ms)", ""),
]
CHECKS = [("terminal", "jobs terminal"), ("wrong_state", "not as the emulator decided"),
          ("not_terminal", "not terminal"), ("makespan_s", "makespan (s)"),
          ("ideal_s", "ideal: last remote job ended (s)"), ("longest_job_s", "longest job (s)"),
          ("all_remote_s", "time until all existed remotely (s)"),
          ("peak_running", "peak remote jobs running")]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__.split("\n")[0])
    p.add_argument("--jobs", type=int, default=2000)
    p.add_argument("--durations", default="uniform:5,60", help="job run times [uniform:5,60]")
    p.add_argument("--workers", type=int, default=2, help="worker processes of 16 threads")
    p.add_argument("--systems", default="naive,jobfleet", help="which to run, in this order")
    p.add_argument("--failure-rate", type=float, default=0.0, help="share told to fail remotely")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--keep-logs", metavar="DIR", help="keep worker/emulator logs and Redis data")
    return p.parse_args(argv)


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(143)  # unwinds through the cleanup: no process is left behind


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        duration = DurationSpec.parse(args.durations)
        names = [n.strip() for n in args.systems.split(",") if n.strip()]
        unknown = [n for n in names if n not in SYSTEMS]
        if unknown or not names or args.jobs < 1 or args.workers < 1:
            raise ValueError(f"--systems takes {', '.join(SYSTEMS)}; --jobs and --workers ≥ 1")
    except ValueError as exc:
        print(f"bench.compare: {exc}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    jobs = make_jobs(args.jobs, ["deeporigin"], duration=duration,
                     failure_rate=args.failure_rate, upload_share=0, upload_targets=[],
                     rng=random.Random(args.seed))
    with run_dir(args.keep_logs, "jobfleet-compare-") as workdir:
        results = run_all(names, jobs, args, workdir)
    summary = summarise(results, args)
    render(summary)
    print(json.dumps(summary), flush=True)
    return 0


def run_all(names: list[str], jobs: list[dict], args: argparse.Namespace,
            workdir: Path) -> dict[str, dict[str, Any]]:
    """Each system in turn on one emulator; returns its figures by name."""
    credentials = EmulatorCredentials.generate()
    timeout_s = max(planned_duration(job) for job in jobs) + SLACK_S
    emulator = run_emulator(credentials, args.seed, workdir)
    results = {}
    try:
        for name in names:
            system: System = SYSTEMS[name](workdir / name, emulator.root_url, credentials,
                                           args.workers)
            try:
                system.start()
                print(f"bench.compare: running {name} ({len(jobs)} jobs)", file=sys.stderr)
                run = measure(system, jobs, emulator.control, timeout_s)
            finally:
                system.close()
            results[name] = figures(run, do_credential(credentials.do_token))
    finally:
        emulator.stop()
    return results


def summarise(results: dict[str, dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    """The JSON line: settings, each system's figures, jobfleet / baseline per figure."""
    out: dict[str, Any] = {"jobs": args.jobs, "durations": args.durations,
                           "workers": args.workers, "threads_per_worker": 16,
                           "seed": args.seed, "loadavg_end": [round(x, 2) for x in os.getloadavg()]}
    out.update(results)
    if "naive" in results and "jobfleet" in results:
        out["ratio_jobfleet_over_naive"] = {
            key: ratio(results["jobfleet"][key], results["naive"][key]) for key, _, _ in ROWS}
    return out


def render(summary: dict[str, Any]) -> None:
    names = [n for n in SYSTEMS if n in summary]
    ratios = summary.get("ratio_jobfleet_over_naive", {})
    head = ["figure", *("usual Celery pattern" if n == "naive" else n for n in names)]
    if ratios:
        head += ["jobfleet / baseline", "target (jobfleet)"]
    print(f"{summary['jobs']} Deep Origin jobs, run times {summary['durations']}, "
          f"{summary['workers']} workers × 16 threads, load {summary['loadavg_end']}")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for key, label, target in ROWS:
        cells = [label, *(_cell(summary[n][key]) for n in names)]
        if ratios:
            cells += [_cell(ratios[key]), target]
        print("| " + " | ".join(cells) + " |")
    for key, label in CHECKS:
        print("| " + " | ".join([label, *(_cell(summary[n][key]) for n in names)]
                                + (["", ""] if ratios else [])) + " |")


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".") if abs(value) < 100 else f"{value:,.0f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


if __name__ == "__main__":
    sys.exit(main())
