"""Acceptance runs as a user would do them: a JSONL file through the ``jobfleet`` CLI.

    python -m bench.acceptance --jobs 500 --platforms deeporigin --workers 1 --failure-rate 0
    python -m bench.acceptance --jobs 300 --upload-share 0.33 --workers 2
    python -m bench.acceptance --jobs 200 --platforms jobsapi --failure-rate 0

``jobsapi`` is the spec-file platform (``examples/providers/jobsapi.toml``): the local fleet
points ``JOBFLEET_PROVIDERS_DIR`` at ``examples/providers``.

Starts a local fleet (Redis with AOF, the emulator, real workers), writes a job file whose jobs
tell the emulator how to end, runs ``submit``, ``wait`` and ``results``, submits the same file
again, and checks: every job terminal with the outcome the emulator decided, every result
readable, exactly one remote job per job (also after the re-submit), and every upload stored
once with the stored result's SHA-256. Prints a table; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from devtools.localfleet import RedisServer, fleet_env, start_worker, stop_process
from emulator.control import EmulatorControl, start_emulator
from emulator.samples import KINDS, sample_job

JOBFLEET = [sys.executable, "-m", "producers.cli"]
SPEC_KINDS = (("jobsapi", "task"),)  # platforms described by spec files in examples/providers


def job_file(path: Path, n: int, platforms: list[str], upload_share: float,
             failure_rate: float, rng: random.Random, emulator: EmulatorControl) -> None:
    """Writes the job file; overrides only the emulator may read are sent to it ahead."""
    kinds = [(p, k) for p, k in (*KINDS, *SPEC_KINDS) if p in platforms]
    with path.open("w") as out:
        for i in range(n):
            provider, kind = kinds[i % len(kinds)]
            failing = rng.random() < failure_rate
            extra = {"upload": {"to": rng.choice(["moderately", "deeporigin"])}} \
                if rng.random() < upload_share else {}
            job = sample_job(f"j{i}", provider, kind, duration_s=round(rng.uniform(1, 10), 2),
                             outcome="failed" if failing else "succeeded",
                             reason="told to fail" if failing else None, rng=rng, **extra)
            [job] = emulator.plan_jobs([job])
            out.write(json.dumps(job) + "\n")


def cli(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*JOBFLEET, *args], env=env, capture_output=True, text=True)


def stored_hashes(row: dict) -> set[str]:
    manifest = row["result"]
    document = json.dumps(manifest["data"], sort_keys=True, indent=1).encode()
    return {f["sha256"] for f in manifest["files"].values()} | {
        hashlib.sha256(document).hexdigest()}


def readable(row: dict) -> bool:
    """Every output file the results line names is in the (local) result store."""
    files = row.get("result", {}).get("files")
    return files is not None and all(Path(f["location"]).exists() for f in files.values())


def check(rows: list[dict], jobs: dict, emulator) -> dict:
    """The acceptance figures for one finished batch."""
    stats = emulator.stats()
    wrong = sum(1 for r in rows
                if r["state"] != emulator.job(r["provider"], r["remote_id"])["outcome"])
    unreadable = sum(1 for r in rows if r["state"] == "succeeded" and not readable(r))
    bad_uploads = 0
    for row in rows:
        target = jobs[row["key"]].get("upload", {}).get("to")
        if not target or row["state"] != "succeeded":
            continue
        held = [f for k, f in stats[target]["files"].items() if k.endswith(row["file_id"])]
        if len(held) != 1 or held[0]["sha256"] not in stored_hashes(row):
            bad_uploads += 1
    created = sum(stats[p]["jobs_created"] for p in {r["provider"] for r in rows})
    return {"jobs": len(rows), "states": dict(Counter(r["state"] for r in rows)),
            "wrong_state": wrong, "unreadable_results": unreadable,
            "uploads": sum(1 for r in rows if r.get("file_id")), "bad_uploads": bad_uploads,
            "remote_jobs_created": created}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.acceptance", description=__doc__)
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--platforms", default="deeporigin,moderately,openprotein")
    parser.add_argument("--upload-share", type=float, default=0.0)
    parser.add_argument("--failure-rate", type=float, default=0.1,
                        help="share of jobs the emulator is told to fail")
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="jobfleet-acceptance-"))
    redis_server = RedisServer(work / "redis").start()
    emulator = start_emulator(["--duration", "uniform:1,10"], log_path=work / "emulator.log")
    env = fleet_env(redis_server.url, emulator.root_url, work / "results")
    workers = [start_worker(env, f"w{i}", work / f"worker{i}.log") for i in range(args.workers)]
    try:
        path = work / "jobs.jsonl"
        job_file(path, args.jobs, args.platforms.split(","), args.upload_share,
                 args.failure_rate, random.Random(args.seed), emulator.control)
        jobs = {json.loads(line)["key"]: json.loads(line) for line in path.open()}
        batch = cli(env, "submit", str(path)).stdout.strip().splitlines()[-1]
        started = time.monotonic()
        waited = cli(env, "wait", batch, "--timeout", "600")
        took = time.monotonic() - started
        cli(env, "results", batch, "--out", str(work / "results.jsonl"))
        rows = [json.loads(line) for line in (work / "results.jsonl").open()]
        figures = check(rows, jobs, emulator.control)
        again = cli(env, "submit", str(path)).stderr.strip()
        time.sleep(3)
        figures["remote_jobs_after_resubmit"] = check(rows, jobs, emulator.control)[
            "remote_jobs_created"]
        figures.update(wait_exit=waited.returncode, wait_s=round(took, 1), resubmit=again)
    finally:
        for proc in workers:
            stop_process(proc)
        emulator.stop()
        redis_server.stop()
    for name, value in figures.items():
        print(f"{name:28} {value}")
    print(json.dumps(figures))
    ok = (figures["wrong_state"] == figures["unreadable_results"] == figures["bad_uploads"] == 0
          and figures["remote_jobs_created"] == figures["remote_jobs_after_resubmit"] == len(rows))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
