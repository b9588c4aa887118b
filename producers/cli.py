"""The ``jobfleet`` command line: submit job files, follow batches, run fleet processes."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

EXIT_TIMEOUT = 3  # `wait` ran out of time; distinct from errors (1) and usage (2)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    passthrough = {"worker": _worker, "flower": _flower, "emulator": _emulator}
    if argv and argv[0] in passthrough:  # their options belong to Celery / Flower / the emulator
        return passthrough[argv[0]](argv[1:]) or 0
    args = _parser().parse_args(argv)
    try:
        return args.run(args) or 0
    except KeyboardInterrupt:
        return 130
    except LookupError as exc:
        print(f"jobfleet: unknown batch {exc.args[0]!r}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jobfleet", description=__doc__)
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    p = sub.add_parser("submit", help="enqueue the jobs of a JSONL file; prints the batch id last")
    p.add_argument("file", type=Path)
    p.add_argument("--batch", help="batch name (default: derived from the file's content)")
    p.set_defaults(run=_submit)

    p = sub.add_parser("status", help="counts of a batch's jobs by state")
    p.add_argument("batch")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.set_defaults(run=_status)

    p = sub.add_parser("wait", help="show progress until every job of the batch has ended")
    p.add_argument("batch")
    p.add_argument("--timeout", type=float, help="give up after this many seconds (exit 3)")
    p.set_defaults(run=_wait)

    p = sub.add_parser("results", help="one JSON line per job: key, state, result or error")
    p.add_argument("batch")
    p.add_argument("--out", type=Path, help="write to this file instead of stdout")
    p.set_defaults(run=_results)

    p = sub.add_parser("cancel", help="cancel a batch, or single jobs with --job")
    p.add_argument("batch", nargs="?")
    p.add_argument("--job", action="append", default=[], help="a job id (repeatable)")
    p.set_defaults(run=_cancel)

    p = sub.add_parser("demo", help="run a whole local fleet on a demo batch")
    p.add_argument("--jobs", type=int, default=60)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--keep", action="store_true", help="leave Flower up until Ctrl-C")
    p.set_defaults(run=_demo)

    for name, text in (("worker", "start a Celery worker (Celery options follow)"),
                       ("flower", "start Flower on the fleet's broker (Flower options follow)"),
                       ("emulator", "serve the platform emulators (see `emulator --help`)")):
        sub.add_parser(name, help=text, add_help=False)
    return parser


def _fleet():
    from producers.api import Fleet

    return Fleet()


def _submit(args) -> int:
    from producers.api import batch_id_for
    from producers.jobfile import parse_lines

    try:
        content = args.file.read_bytes()
    except OSError as exc:
        print(f"jobfleet: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 1
    jobs, errors = parse_lines(content.splitlines())
    for error in errors:
        print(f"{args.file}:{error}", file=sys.stderr)
    if not jobs and not errors:
        print(f"jobfleet: {args.file} holds no jobs", file=sys.stderr)
    batch = args.batch or batch_id_for(content)
    fleet = _fleet()
    created = fleet.add_valid(batch, jobs)
    print(f"accepted {len(jobs)} job(s) ({len(created)} new, {len(jobs) - len(created)} "
          f"already known), rejected {len(errors)} line(s)", file=sys.stderr)
    print(batch)
    return 1 if errors or not jobs else 0


def _status(args) -> int:
    status = _fleet().status(args.batch)
    if args.json:
        print(json.dumps(status))
    else:
        states = "  ".join(f"{k}={v}" for k, v in status["states"].items())
        print(f"{status['batch']}: {status['total']} jobs  {states}"
              f"  {'done' if status['done'] else 'in progress'}")
    return 0


def _wait(args) -> int:
    from producers.progress import follow

    status = follow(_fleet(), args.batch, args.timeout)
    if status["done"]:
        return 0
    states = status["states"]
    left = states["queued"] + states["submitting"] + states["running"]
    print(f"jobfleet: timed out with {left} job(s) unfinished", file=sys.stderr)
    return EXIT_TIMEOUT


def _results(args) -> int:
    fleet = _fleet()
    out = args.out.open("w") if args.out else sys.stdout
    try:
        for line in fleet.results(args.batch):
            out.write(json.dumps(line) + "\n")
    finally:
        if args.out:
            out.close()
    return 0


def _cancel(args) -> int:
    if not args.batch and not args.job:
        print("jobfleet: name a batch or --job ID", file=sys.stderr)
        return 2
    fleet = _fleet()
    if args.batch:
        status = fleet.status(args.batch)
        if status["done"]:
            print(f"{args.batch}: every job has already ended; nothing to cancel")
            return 0
    live = []
    for job_id in args.job:
        job = fleet.job(job_id)
        if job is None:
            print(f"{job_id}: no such job")
        elif job["state"] in ("succeeded", "failed", "cancelled"):
            print(f"{job_id}: already {job['state']}; nothing to cancel")
        else:
            live.append(job_id)
    if args.batch or live:
        fleet.cancel(batch=args.batch, job_ids=live)
        print("cancellation requested")
    return 0


def _demo(args) -> int:
    from producers.demo import run_demo

    return run_demo(jobs=args.jobs, workers=args.workers, keep=args.keep)


def _worker(extra: list[str]) -> int:
    from config.celery import worker_argv
    from worker.app import app

    app.worker_main(worker_argv(extra))
    return 0


def _flower(extra: list[str]) -> int:
    from worker.app import app

    app.start(["flower", *extra])
    return 0


def _emulator(extra: list[str]) -> int:
    from emulator.server import main as emulator_main

    emulator_main(extra)
    return 0


if __name__ == "__main__":
    sys.exit(main())
