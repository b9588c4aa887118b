"""``python -m bench.chaos``: a real local fleet under faults, kills and Redis restarts.

Starts Redis (AOF), the emulator with the chosen fault rates and ``--workers`` worker
processes; submits ``--jobs`` jobs over the platforms through ``producers.api.Fleet``; every
``--kill-every`` seconds SIGKILLs a random worker and starts a replacement; restarts Redis
``--redis-restarts`` times; waits until every job has ended or ``--timeout``; then checks
every job against what the emulator decided. Prints a table, and as its **last line** one
JSON object whose fixed keys are ``jobs, terminal, lost, wrong_state, duplicate_creations,
duplicate_uploads, max_recovery_s, wall_s``. Exit 0 when lost, wrong_state,
duplicate_uploads, upload_missing and the tagged platforms' duplicate creations are all 0.
Definitions: ``bench/chaos_verdict.py``, ``bench/chaos_recovery.py``, ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.chaos_fleet import DEFAULT_LEASE_S, FAST_SETTINGS, ChaosFleet
from bench.chaos_jobs import (
    KINDS,
    TAGGED,
    make_jobs,
    planned_duration,
    unavailable_reason,
)
from bench.chaos_recovery import RecoveryTracker
from bench.chaos_report import render
from bench.chaos_verdict import judge, last_terminal_s
from config.settings import FleetSettings
from devtools.localfleet import EXAMPLE_PROVIDERS_DIR
from emulator.control import EmulatorError
from emulator.settings import DurationSpec
from producers.api import Fleet
from producers.jobfile import upload_targets
from worker.record import make_job_id

BUDGET_SLACK_S = 120  # every job must end within the longest job's duration plus this
TICK_S = 0.5
READY_TIMEOUT_S = 90  # workers on a loaded 2-core machine take a few seconds each


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.chaos", description=__doc__.split("\n")[0])
    p.add_argument("--jobs", type=int, default=200)
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--platforms", help="comma list (default: every platform available: "
                   "served by the emulator, with a worker provider and job-file support)")
    p.add_argument("--kill-every", type=float, default=10.0, metavar="S",
                   help="SIGKILL a random worker every S seconds and start a replacement (0: off)")
    p.add_argument("--max-kills", type=int, default=None, metavar="N",
                   help="stop killing after N kills (default: keep killing until the end)")
    p.add_argument("--kill-jitter", type=float, default=0.0, metavar="F",
                   help="vary each kill interval by up to ±F of it (0: strictly periodic)")
    p.add_argument("--redis-restarts", type=int, default=1, metavar="R")
    p.add_argument("--redis-kill", action="store_true",
                   help="restart Redis with SIGKILL (AOF everysec: up to ~1 s of writes lost)")
    p.add_argument("--fault-5xx", type=float, default=0.05)
    p.add_argument("--fault-429", type=float, default=0.02)
    p.add_argument("--fault-drop", type=float, default=0.01)
    p.add_argument("--fault-slow", type=float, default=0.0)
    p.add_argument("--fault-garbage", type=float, default=0.0)
    p.add_argument("--duration", default="uniform:2,20", help="job run times [uniform:2,20]")
    p.add_argument("--failure-rate", type=float, default=0.1, help="share told to fail remotely")
    p.add_argument("--upload-share", type=float, default=0.1,
                   help="share of jobs whose result is uploaded as a file")
    p.add_argument("--lease-s", type=float, default=DEFAULT_LEASE_S, help="JOBFLEET_LEASE_S")
    p.add_argument("--timeout", type=float,
                   help=f"seconds from submission (default: longest job + {BUDGET_SLACK_S})")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--keep-logs", metavar="DIR", help="keep logs, Redis data and results here")
    return p.parse_args(argv)


def choose_platforms(wanted: str | None, served: list[str]) -> tuple[list[str], dict[str, str]]:
    """The platforms to run and, for every other known one, why it is left out."""
    names = [n.strip() for n in wanted.split(",") if n.strip()] if wanted else list(KINDS)
    chosen, skipped = [], {}
    for name in names:
        reason = unavailable_reason(name, served)
        if reason is None:
            chosen.append(name)
        else:
            skipped[name] = reason
    if wanted and skipped:
        why = ", ".join(f"{name} ({reason})" for name, reason in skipped.items())
        raise UsageError(f"cannot run {why}")
    if not chosen:
        raise UsageError(f"no platform available: {skipped}")
    return chosen, skipped


class UsageError(Exception):
    """The run cannot be made as asked (exit 2)."""


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(143)  # unwinds through main's cleanup: no process is left behind


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # The emulator also plays APIs described by spec files (/jobsapi); this process checks
    # the jobs it submits against every platform's spec, as the workers do.
    os.environ.setdefault("JOBFLEET_PROVIDERS_DIR", str(EXAMPLE_PROVIDERS_DIR))
    try:
        duration = DurationSpec.parse(args.duration)
    except ValueError as exc:
        print(f"bench.chaos: {exc}", file=sys.stderr)
        return 2
    rng = random.Random(args.seed)
    workdir = Path(args.keep_logs or tempfile.mkdtemp(prefix="jobfleet-chaos-")).resolve()
    faults = {"5xx": args.fault_5xx, "429": args.fault_429, "drop": args.fault_drop,
              "slow": args.fault_slow, "garbage": args.fault_garbage}
    fleet = ChaosFleet(workdir, args.workers, lease_s=args.lease_s,
                       faults={k: v for k, v in faults.items() if v}, seed=args.seed)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        fleet.start()
        try:
            platforms, skipped = choose_platforms(args.platforms, fleet.served())
        except UsageError as exc:
            print(f"bench.chaos: {exc}", file=sys.stderr)
            return 2
        uploads = [t for t in upload_targets() if t in platforms]
        jobs = make_jobs(args.jobs, platforms, duration=duration,
                         failure_rate=args.failure_rate, upload_share=args.upload_share,
                         upload_targets=uploads, rng=rng)
        fleet.wait_ready(READY_TIMEOUT_S)
        result = run(fleet, jobs, args, rng)
        result.update(platforms=platforms, skipped=skipped, settings=_settings(args),
                      workdir=str(workdir) if args.keep_logs else None)
        render(result)
        if args.keep_logs:
            (workdir / "chaos-result.json").write_text(json.dumps(result, indent=1, default=str))
        print(json.dumps(summary_line(result)), flush=True)
        return 0 if passed(result) else 1
    finally:
        fleet.close()
        if not args.keep_logs:
            shutil.rmtree(workdir, ignore_errors=True)


def run(fleet: ChaosFleet, jobs: list[dict], args: argparse.Namespace,
        rng: random.Random) -> dict[str, Any]:
    """Submits, disrupts on schedule, waits, and judges; returns everything the report shows."""
    batch = f"chaos-{args.seed}-{int(time.time())}"
    providers = {make_job_id(batch, job["key"]): job["provider"] for job in jobs}
    longest = max(planned_duration(job) for job in jobs)
    budget = longest + BUDGET_SLACK_S
    api = Fleet(FleetSettings(redis_url=fleet.redis.url, lease_s=args.lease_s))
    tracker = RecoveryTracker(fleet.redis.url, providers)
    tracker.start()
    t0_epoch = time.time()
    api.enqueue_batch(fleet.emulator.control.plan_jobs(jobs), batch=batch)
    fleet.started = time.monotonic() - (time.time() - t0_epoch)
    _disrupt_until_done(fleet, api, tracker, batch, args, rng, longest, args.timeout or budget)
    wall_s = round(fleet.now_s(), 2)
    watches = tracker.finish()
    records = [job for ids in api.store.batch_job_ids(batch) for job in api.store.get_many(ids)]
    api.close()
    stats = fleet.emulator.control.stats()
    verdict = judge(records, _decisions(fleet, records), stats, sorted(set(providers.values())))
    return {**verdict, "batch": batch, "wall_s": wall_s, "budget_s": round(budget, 2),
            "last_terminal_s": last_terminal_s(records, t0_epoch),
            "max_recovery_s": tracker.max_recovery_s(), "max_stall_s": tracker.max_stall_s(),
            "max_recovery_held_s": tracker.max_held_s()[0],
            "max_stall_held_s": tracker.max_held_s()[1],
            "max_recovery_unstarted_s": tracker.max_recovery_s(unstarted=True),
            "max_stall_unstarted_s": tracker.max_stall_s(unstarted=True),
            "recovery": [w.summary() for w in watches],
            "events": [{k: v for k, v in vars(e).items() if k != "at"} for e in fleet.events],
            "stats": stats}


def _disrupt_until_done(fleet: ChaosFleet, api: Fleet, tracker: RecoveryTracker, batch: str,
                        args: argparse.Namespace, rng: random.Random, longest: float,
                        timeout_s: float) -> None:
    """Kills and restarts on schedule until every job has ended or the time is up.

    Redis restarts are spread over the longest job's run, so they land with jobs in flight.
    """
    t0 = fleet.started
    next_kill = t0 + args.kill_every if args.kill_every > 0 else float("inf")
    restarts = [t0 + longest * (i + 1) / (args.redis_restarts + 1)
                for i in range(args.redis_restarts)]
    kind = "redis-kill" if args.redis_kill else "redis-restart"
    while time.monotonic() < t0 + timeout_s and not _done(api, batch):
        now = time.monotonic()
        if restarts and now >= restarts[0]:
            restarts.pop(0)
            tracker.disrupt(kind, fleet.now_s(), lambda: fleet.restart_redis(args.redis_kill))
        elif now >= next_kill and kills_left(fleet, args.max_kills):
            next_kill += args.kill_every * (1 + rng.uniform(-args.kill_jitter, args.kill_jitter))
            tracker.disrupt("kill", fleet.now_s(), lambda: fleet.kill_random_worker(rng),
                            log_of=lambda event: fleet.logdir / f"{event.target}.log")
        fleet.replace_dead_workers()
        time.sleep(TICK_S)


def kills_left(fleet: ChaosFleet, max_kills: int | None) -> bool:
    return max_kills is None or sum(e.kind == "kill" for e in fleet.events) < max_kills


def _done(api: Fleet, batch: str) -> bool:
    try:
        return api.status(batch)["done"]
    except Exception:  # noqa: BLE001 - Redis restarting; ask again next tick
        return False


def _decisions(fleet: ChaosFleet, records: list) -> dict[str, dict | None]:
    """Job id → the emulator's record of its remote job (decided outcome, phase), or None."""
    out: dict[str, dict | None] = {}
    for job in records:
        remote_id = job.remote_id
        if not remote_id:
            continue
        try:
            out[job.id] = fleet.emulator.control.job(job.provider, remote_id)
        except EmulatorError:
            out[job.id] = None
    return out


def _settings(args: argparse.Namespace) -> dict[str, Any]:
    return {"workers": args.workers, "kill_every_s": args.kill_every,
            "kill_jitter": args.kill_jitter,
            "redis_restarts": args.redis_restarts, "redis_kill": args.redis_kill,
            "faults": {"5xx": args.fault_5xx, "429": args.fault_429, "drop": args.fault_drop,
                       "slow": args.fault_slow, "garbage": args.fault_garbage},
            "duration": args.duration, "failure_rate": args.failure_rate,
            "upload_share": args.upload_share, "seed": args.seed,
            "fleet_env": {**FAST_SETTINGS, "JOBFLEET_LEASE_S": str(args.lease_s)}}


def passed(result: dict[str, Any]) -> bool:
    return not (result["lost"] or result["wrong_state"] or result["duplicate_uploads"]
                or result["duplicate_creations"] or result["upload_missing"])


def summary_line(result: dict[str, Any]) -> dict[str, Any]:
    """The last line: extra keys first, then the fixed ones, exactly so named."""
    kills = sum(1 for e in result["events"] if e["kind"] == "kill")
    restarts = sum(1 for e in result["events"] if e["kind"].startswith("redis"))
    return {
        "platforms": result["platforms"],
        "jobs_by_kind": {f"{p}/{key[5:]}": n for p, row in result["rows"].items()
                         for key, n in row.items() if key.startswith("kind:")},
        "duplicate_creations_by_platform": result["duplicate_creations_by_platform"],
        "duplicate_creations_untagged": sum(
            n for p, n in result["duplicate_creations_by_platform"].items() if p not in TAGGED),
        "no_remote_id": result["no_remote_id"],
        "upload_missing": result["upload_missing"],
        "repeated_uploads": result["repeated_uploads"],
        "kills": kills,
        "redis_restarts": restarts,
        "worker_exits": sum(1 for e in result["events"] if e["kind"] == "worker-exit"),
        "max_stall_s": result["max_stall_s"],
        "max_recovery_held_s": result["max_recovery_held_s"],
        "max_stall_held_s": result["max_stall_held_s"],
        "max_recovery_unstarted_s": result["max_recovery_unstarted_s"],
        "max_stall_unstarted_s": result["max_stall_unstarted_s"],
        "last_terminal_s": result["last_terminal_s"],
        "budget_s": result["budget_s"],
        "jobs": result["jobs"],
        "terminal": result["terminal"],
        "lost": result["lost"],
        "wrong_state": result["wrong_state"],
        "duplicate_creations": result["duplicate_creations"],
        "duplicate_uploads": result["duplicate_uploads"],
        "max_recovery_s": result["max_recovery_s"],
        "wall_s": result["wall_s"],
    }


if __name__ == "__main__":
    sys.exit(main())
