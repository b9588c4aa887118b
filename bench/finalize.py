"""``python -m bench.finalize``: how fast the fleet finalizes jobs that all ended at once.

``--jobs`` Deep Origin jobs (10 % told to fail) are created and left running; once every one
exists remotely the worker processes are paused (SIGSTOP) until every remote job has ended,
then resumed (SIGCONT). From the resume on, all of them are waiting to be seen ended and
finalized, so the drain shows finalize's own rate, not the rate at which jobs happen to end.
Measures, from the resume until the last record is terminal: jobs finalized per second
(overall and in the busiest 10 s), worker CPU per finalized job (both processes, sweeps
included), and requests to the platform per finalized job. Prints a table, then **one JSON
object as the last line**. Definitions and measured figures: ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sys
import time
from pathlib import Path
from typing import Any

from bench.chaos_jobs import make_jobs
from bench.measure import cpu_seconds, run_dir
from bench.runs import PROVIDER, WAIT_TICK_S
from bench.systems import JobfleetSystem, run_emulator
from devtools.localfleet import EmulatorCredentials
from emulator.settings import DurationSpec
from emulator.stats import max_in_any_window

PEAK_WINDOW_S = 10.0
SECONDS_PER_JOB = 0.01  # room to create every job before the first can end


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.finalize",
                                description=__doc__.split("\n")[0])
    p.add_argument("--jobs", type=int, default=5000)
    p.add_argument("--workers", type=int, default=2, help="worker processes of 16 threads")
    p.add_argument("--run-time", type=float, metavar="S",
                   help=f"every job's run time (default: max(30, {SECONDS_PER_JOB} s × jobs))")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--keep-logs", metavar="DIR", help="keep worker/emulator logs")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    run_time = args.run_time or max(30.0, SECONDS_PER_JOB * args.jobs)
    if args.jobs < 1 or args.workers < 1 or run_time <= 0:
        print("bench.finalize: --jobs, --workers and --run-time must be positive",
              file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    jobs = make_jobs(args.jobs, ["deeporigin"], duration=DurationSpec.parse(f"fixed:{run_time}"),
                     failure_rate=0.1, upload_share=0, upload_targets=[],
                     rng=random.Random(args.seed))
    with run_dir(args.keep_logs, "jobfleet-finalize-") as workdir:
        summary = run(jobs, args, run_time, workdir)
    render(summary)
    print(json.dumps(summary), flush=True)
    return 0 if summary.get("error") is None else 1


def run(jobs: list[dict], args: argparse.Namespace, run_time: float,
        workdir: Path) -> dict[str, Any]:
    credentials = EmulatorCredentials.generate()
    emulator = run_emulator(credentials, args.seed, workdir)
    system = JobfleetSystem(workdir / "jobfleet", emulator.root_url, credentials, args.workers)
    try:
        system.start()
        emulator.control.reset()
        t0 = time.time()
        system.enqueue(jobs)
        while _states(system)["queued"] + _states(system)["submitting"] > 0:
            time.sleep(WAIT_TICK_S)
        created_s = time.time() - t0
        if created_s >= run_time - 2:
            return {"jobs": len(jobs), "error": f"creating the jobs took {created_s:.1f} s, "
                    f"not less than their run time {run_time:g} s; give a longer --run-time"}
        _signal(system, signal.SIGSTOP)
        time.sleep(max(0.0, t0 + created_s + run_time + 1 - time.time()))  # every job ended
        before = _requests(emulator)
        cpu0 = cpu_seconds(system.pids())
        resumed = time.time()
        _signal(system, signal.SIGCONT)
        while system.in_flight() > 0:
            time.sleep(WAIT_TICK_S)
        drain_s = time.time() - resumed
        cpu_s = cpu_seconds(system.pids()) - cpu0
        after = _requests(emulator)
        outcomes = system.outcomes()
    finally:
        _signal(system, signal.SIGCONT)  # a stopped worker cannot shut down
        system.close()
        emulator.stop()
    final = [o.terminal_at for o in outcomes if o.terminal_at is not None]
    n = len(final)
    return {
        "jobs": len(jobs), "workers": args.workers, "threads_per_worker": 16,
        "run_time_s": run_time, "loadavg_end": [round(x, 2) for x in os.getloadavg()],
        "created_s": round(created_s, 1), "terminal": n,
        "succeeded": sum(o.state == "succeeded" for o in outcomes),
        "drain_s": round(drain_s, 2),
        "finalized_per_s": round(n / drain_s, 1),
        "finalized_per_s_peak": round(max_in_any_window(final, PEAK_WINDOW_S) / PEAK_WINDOW_S, 1),
        "worker_cpu_ms_per_finalized_job": round(cpu_s * 1000 / max(n, 1), 2),
        "requests_per_finalized_job": round((after - before) / max(n, 1), 3),
        "error": None,
    }


def _requests(emulator: Any) -> int:
    """Every request the platform has served, signed-URL fetches (no credential) included."""
    return sum(emulator.control.stats(brief=True)[PROVIDER]["requests_by_endpoint"].values())


def _states(system: JobfleetSystem) -> dict[str, int]:
    return system.fleet.status(system.batch)["states"]


def _signal(system: JobfleetSystem, sig: int) -> None:
    for pid in system.pids():
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            continue


def render(summary: dict[str, Any]) -> None:
    if summary.get("error"):
        print(f"bench.finalize: {summary['error']}", file=sys.stderr)
        return
    print(f"{summary['jobs']:,} Deep Origin jobs ended at once (run time {summary['run_time_s']:g}"
          f" s), {summary['workers']} workers × 16 threads, load {summary['loadavg_end']}")
    rows = [
        ("time to create every job remotely (s)", summary["created_s"]),
        ("jobs terminal / succeeded", f"{summary['terminal']} / {summary['succeeded']}"),
        ("drain: resume → last record terminal (s)", summary["drain_s"]),
        ("jobs finalized per s (whole drain)", summary["finalized_per_s"]),
        ("jobs finalized per s (busiest 10 s)", summary["finalized_per_s_peak"]),
        ("worker CPU per finalized job (ms)", summary["worker_cpu_ms_per_finalized_job"]),
        ("requests to the platform per finalized job", summary["requests_per_finalized_job"]),
    ]
    print("| figure | jobfleet |\n|---|---|")
    for label, value in rows:
        print(f"| {label} | {value} |")


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(143)  # unwinds through the cleanup: no process is left behind


if __name__ == "__main__":
    sys.exit(main())
