"""``python -m bench.walk``: how long one Deep Origin status sweep takes over many executions.

``--jobs`` executions (run time far beyond the run) are created on a fresh emulator through
the provider itself, no fleet running; then the sweep's walk (``DeepOriginProvider.sweep``:
the execution list filtered on the project and ``createdAt``, oldest first, 1,000 rows a
request) is timed ``--walks`` times over all of them. Per walk: pages, rows, wall time, and
the CPU this process spent (the rest of the wall time is mostly the emulator rendering the
pages). A job that ends just after a walk passed its page is seen by the next walk, so with
every job in the window, the walk's length bounds how soon a sweep sees an end. Prints a
table, then **one JSON object as the last line**.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.chaos_jobs import make_jobs
from bench.systems import run_emulator
from devtools.localfleet import EmulatorCredentials
from emulator.settings import DurationSpec

CREATE_THREADS = 16


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.walk", description=__doc__.split("\n")[0])
    p.add_argument("--jobs", type=int, default=10_000)
    p.add_argument("--walks", type=int, default=3)
    args = p.parse_args(argv)
    if args.jobs < 1 or args.walks < 1:
        print("bench.walk: --jobs and --walks must be at least 1", file=sys.stderr)
        return 2
    credentials = EmulatorCredentials.generate()
    with tempfile.TemporaryDirectory(prefix="jobfleet-walk-") as workdir:
        emulator = run_emulator(credentials, 1, Path(workdir))
        try:
            os.environ.update(credentials.env(emulator.root_url))
            summary = run(args.jobs, args.walks)
        finally:
            emulator.stop()
    print(f"{summary['jobs']:,} Deep Origin executions, one sweep walk over all of them, "
          f"load {summary['loadavg_end']}")
    print("| walk | pages | rows | wall (s) | our CPU (s) |\n|---|---|---|---|---|")
    for i, walk in enumerate(summary["walks"], 1):
        print(f"| {i} | {walk['pages']} | {walk['rows']} | {walk['wall_s']} | {walk['cpu_s']} |")
    print(json.dumps(summary), flush=True)
    return 0


def run(n: int, walks: int) -> dict[str, Any]:
    from worker.providers import get_spec
    from worker.providers.types import JobSpec, Watched

    provider = get_spec("deeporigin").make(pool_size=CREATE_THREADS)
    jobs = make_jobs(n, ["deeporigin"], duration=DurationSpec.parse("fixed:86400"),
                     failure_rate=0, upload_share=0, upload_targets=[], rng=random.Random(1))
    started = time.time()

    def create(i: int) -> str:
        spec = JobSpec(job_id=f"walk-{i}", kind=jobs[i]["kind"], params=jobs[i]["params"],
                       create_started=started)
        return provider.submit(spec).remote_id

    with ThreadPoolExecutor(CREATE_THREADS) as pool:
        watched = [Watched(remote_id, "tool", started) for remote_id in pool.map(create, range(n))]
    created_s = time.time() - started
    out = []
    for _ in range(walks):
        wall, cpu, pages, rows = time.time(), time.process_time(), 0, 0
        for page in provider.sweep(watched):
            pages, rows = pages + 1, rows + len(page)
        out.append({"pages": pages, "rows": rows, "wall_s": round(time.time() - wall, 2),
                    "cpu_s": round(time.process_time() - cpu, 2)})
    provider.close()
    return {"jobs": n, "created_s": round(created_s, 1), "walks": out,
            "loadavg_end": [round(x, 2) for x in os.getloadavg()]}


if __name__ == "__main__":
    sys.exit(main())
