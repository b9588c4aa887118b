"""What the fleet's pages and /metrics cost in Redis as batches grow: constant, not O(jobs).

    python -m bench.monitor_reads [--sizes 1000,10000,100000] [--failed 0.1]

For each size, one batch of that many jobs is created in a fresh Redis through the job store
(the same Lua as producers use), a share of them failed with a few reasons and the rest
succeeded, through the store's transitions. Then each read the pages and /metrics make is
timed and its Redis commands counted (``INFO stats``): the batch page, the batch list, the
fleet page and the metrics collector. The baseline, measured in the same run on the same
data, is what a page would do without the aggregates: read every job record of the batch to
count failures by reason. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import redis

from devtools.localfleet import RedisServer
from monitor import batches, fleet
from monitor.metrics import FleetCollector
from worker.keys import job_key
from worker.record import Job, encode_changes
from worker.store import JobStore
from worker.telemetry import Recorder

REASONS = ("remote_failed", "deadline", "over_budget", "invalid_params")
PLATFORMS = ("deeporigin", "moderately", "openprotein")
CHUNK = 1000


def fill(store: JobStore, batch: str, n: int, failed_share: float) -> None:
    """``n`` jobs through queued → submitting → running → failed/succeeded, with the store's
    own transition script, pipelined a chunk at a time (as many workers would run them)."""
    every = max(round(1 / failed_share), 1) if failed_share else 0
    script = store._scripts["transition"]  # noqa: SLF001 - the workers' script, batched here
    for start in range(0, n, CHUNK):
        jobs = [Job.new(batch, f"k{i}", PLATFORMS[i % 3], "tool", {"x": i})
                for i in range(start, min(start + CHUNK, n))]
        store.create_many(jobs, due_in=60)
        pipe = store.redis.pipeline(transaction=False)
        now = time.time()
        for i, job in enumerate(jobs, start):
            moves = [("queued", "submitting", {}), ("submitting", "running", {})]
            if every and i % every == 0:
                moves.append(("running", "failed", {"reason": REASONS[i % len(REASONS)],
                                                    "error": f"why {i}"}))
            else:
                moves.append(("running", "succeeded", {}))
            for old, new, fields in moves:
                script(keys=[job_key(job.id)], client=pipe,
                       args=[old, new, now, "", 0, "", *encode_changes(fields)])
        pipe.execute()


def measure(client: redis.Redis, fn) -> tuple[float, int]:
    """(milliseconds, Redis commands) of one call, best of three."""
    best = (float("inf"), 0)
    for _ in range(3):
        before = client.info("stats")["total_commands_processed"]
        started = time.perf_counter()
        fn()
        ms = (time.perf_counter() - started) * 1000
        commands = client.info("stats")["total_commands_processed"] - before - 1  # INFO itself
        best = min(best, (ms, commands))
    return best


def naive_failures(store: JobStore, batch: str) -> dict:
    """Failures by reason by reading every record: what a page costs without aggregates."""
    counts: dict[str, int] = {}
    for ids in store.batch_job_ids(batch):
        for job in store.get_many(ids):
            if job.state == "failed":
                counts[job.reason] = counts.get(job.reason, 0) + 1
    return counts


class _Monitor:
    def __init__(self, client):
        self.redis = client
        self.platforms = PLATFORMS

    @staticmethod
    def limit_of(_):
        return None


def run_size(client: redis.Redis, n: int, failed_share: float) -> dict:
    store = JobStore(client)
    batch = f"bench-{n}"
    started = time.perf_counter()
    fill(store, batch, n, failed_share)
    fill_s = time.perf_counter() - started
    detail = batches.detail(client, batch)
    assert {f.reason: f.jobs for f in detail.failures} == naive_failures(store, batch)
    collector = FleetCollector(_Monitor(client))
    row = {"jobs": n, "fill_s": round(fill_s, 1)}
    for name, fn in (("batch_page", lambda: batches.detail(client, batch)),
                     ("batch_list", lambda: batches.batch_list(client, 0, 50)),
                     ("fleet_page", lambda: fleet.read_fleet(client, PLATFORMS, lambda _: None)),
                     ("metrics", lambda: list(collector.collect())),
                     ("naive_failures", lambda: naive_failures(store, batch))):
        ms, commands = measure(client, fn)
        row[f"{name}_ms"], row[f"{name}_commands"] = round(ms, 2), commands
    row["naive_over_page"] = round(row["naive_failures_ms"] / max(row["batch_page_ms"], 1e-3), 1)
    return row


def telemetry_cost(client: redis.Redis, calls: int = 200_000) -> dict:
    """Cost of one increment (a counter or an observation) in a worker, and of the one
    pipelined flush that carries all of them to Redis."""
    rec = Recorder()
    started = time.perf_counter()
    for i in range(calls):
        rec.count("jobfleet_platform_responses_total", platform=PLATFORMS[i % 3], code="2xx")
        rec.observe("jobfleet_step_duration_seconds", (i % 50) / 10, step="poll")
    calls *= 2
    per_call_us = (time.perf_counter() - started) / calls * 1e6
    rec._client = client  # noqa: SLF001 - flush once, without the background thread
    before = client.info("stats")["total_commands_processed"]
    started = time.perf_counter()
    rec.flush()
    ms = (time.perf_counter() - started) * 1000
    commands = client.info("stats")["total_commands_processed"] - before - 1
    return {"count_us": round(per_call_us, 2), "flush_ms": round(ms, 2),
            "flush_commands": commands}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.monitor_reads", description=__doc__)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--failed", type=float, default=0.1, help="share of jobs failed")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        server = RedisServer(Path(tmp) / "redis").start()
        try:
            client = redis.Redis(port=server.port, decode_responses=True)
            rows = [run_size(client, n, args.failed) for n in sizes]
            cost = telemetry_cost(client)
        finally:
            server.stop()
    columns = ("jobs", "batch_page", "batch_list", "fleet_page", "metrics", "naive_failures")
    print(f"{'jobs':>8} " + " ".join(f"{c + ' ms/cmds':>24}" for c in columns[1:]))
    for r in rows:
        cells = [f"{r[c + '_ms']:>12.2f} / {r[c + '_commands']:<9}" for c in columns[1:]]
        print(f"{r['jobs']:>8} " + " ".join(cells))
    print(f"worker metric increment: {cost['count_us']} µs; one flush of all of them: "
          f"{cost['flush_ms']} ms, {cost['flush_commands']} Redis commands in one round trip")
    print(json.dumps({"sizes": rows, "telemetry": cost}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
