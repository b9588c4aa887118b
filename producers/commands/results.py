"""``results`` (one JSON line per job) and ``export`` (a batch's files and data as plain
files on this machine)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from producers.commands.common import UserError, check_batch_name, open_fleet, output


def register(sub) -> None:
    p = sub.add_parser("results", help="one JSON line per job: id, key, state, result or error")
    p.add_argument("batch")
    p.add_argument("--out", type=Path, help="write to this file (replaced only when complete)")
    p.set_defaults(run=results)

    p = sub.add_parser("export", help="write every job's files as DIR/<key>/<file name>, "
                                      "and its data as DIR/results.jsonl or .csv")
    p.add_argument("batch")
    p.add_argument("dir", type=Path)
    p.add_argument("--format", choices=("jsonl", "csv"), default="jsonl",
                   help="of the data table (default jsonl)")
    p.set_defaults(run=export)


def results(args) -> int:
    batch = check_batch_name(args.batch)
    fleet = open_fleet()
    fleet.status(batch)  # an unknown batch is reported before any file is touched
    with output(args.out) as out:
        for line in fleet.results(batch):
            out.write(json.dumps(line) + "\n")
    return 0


def export(args) -> int:
    from producers.export import export as write_export

    batch = check_batch_name(args.batch)
    fleet = open_fleet()
    fleet.status(batch)
    if args.dir.exists() and not args.dir.is_dir():
        raise UserError(f"cannot export into {args.dir}: it is not a folder")
    try:
        done = write_export(fleet.results(batch), args.dir, args.format)
    except OSError as exc:
        where = exc.filename or args.dir
        raise UserError(f"export into {args.dir} failed at {where}: "
                        f"{exc.strerror or exc}") from None
    print(f"exported {done.jobs} job(s), {done.files} file(s), {done.bytes} bytes "
          f"to {args.dir}", file=sys.stderr)
    return 0
