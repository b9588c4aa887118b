"""``results``: one JSON line per job, to stdout or written whole to a file."""

from __future__ import annotations

import json
from pathlib import Path

from producers.commands.common import check_batch_name, open_fleet, output


def register(sub) -> None:
    p = sub.add_parser("results", help="one JSON line per job: id, key, state, result or error")
    p.add_argument("batch")
    p.add_argument("--out", type=Path, help="write to this file (replaced only when complete)")
    p.set_defaults(run=results)


def results(args) -> int:
    batch = check_batch_name(args.batch)
    fleet = open_fleet()
    fleet.status(batch)  # an unknown batch is reported before any file is touched
    with output(args.out) as out:
        for line in fleet.results(batch):
            out.write(json.dumps(line) + "\n")
    return 0
