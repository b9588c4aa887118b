"""``submit``, ``status``, ``wait`` and ``cancel``: putting jobs in and following them."""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from producers.commands.common import UserError, check_batch_name, open_fleet, print_capped

EXIT_TIMEOUT = 3  # `wait` ran out of time; distinct from errors (1) and usage (2)
STDIN = "-"
TERMINAL = ("succeeded", "failed", "cancelled")


PLATFORMS = "%(platforms)s"  # stands for the platforms block, made only when help is shown


class _PlatformsHelp(argparse.RawDescriptionHelpFormatter):
    """Fills in the platforms, from their specs, when ``submit --help`` is printed: reading
    the specs is left out of every other command."""

    def add_text(self, text: str | None) -> None:
        if text is PLATFORMS:
            from worker.providers.catalog import help_text

            text = help_text().replace("%", "%%")
        super().add_text(text)


def register(sub) -> None:
    p = sub.add_parser("submit", help="enqueue the jobs of a JSONL file; prints the batch id last",
                       epilog=PLATFORMS, formatter_class=_PlatformsHelp)
    p.add_argument("file", help="the job file, or - for standard input (then --batch is needed)")
    p.add_argument("--batch", help="batch name (default: the file's name without its extension)")
    p.set_defaults(run=submit)

    p = sub.add_parser("status", help="counts of a batch's jobs by state")
    p.add_argument("batch")
    p.add_argument("--json", action="store_true", help="one JSON object, with every job's id")
    p.set_defaults(run=status)

    p = sub.add_parser("wait", help="show progress until every job of the batch has ended")
    p.add_argument("batch")
    p.add_argument("--timeout", type=float, help="give up after this many seconds (exit 3)")
    p.set_defaults(run=wait)

    p = sub.add_parser("cancel", help="cancel a batch, or single jobs with --key or --job")
    p.add_argument("batch", nargs="?")
    p.add_argument("--key", action="append", default=[], help="a job's key in BATCH (repeatable)")
    p.add_argument("--job", action="append", default=[], help="a job id (repeatable)")
    p.set_defaults(run=cancel)


def default_batch_name(file: str) -> str:
    """The file's name without its extension, made a valid batch name: submitting the same
    file again (even with lines appended) names the same batch, so only new keys are added."""
    stem = Path(file).name.split(".", 1)[0]
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).lstrip("._-")[:64]
    if not name:
        raise UserError(f"cannot make a batch name from {file!r}; name one with --batch")
    return name


def submit(args) -> int:
    from producers.jobfile import parse_lines

    if args.file == STDIN and not args.batch:
        raise UserError("reading jobs from standard input needs --batch NAME")
    batch = check_batch_name(args.batch or default_batch_name(args.file))
    label = "<stdin>" if args.file == STDIN else args.file
    content = _read(args.file)
    jobs, errors = parse_lines(content.splitlines())
    print_capped([f"{label}:{error}" for error in errors], "rejected line(s)")
    if not jobs:
        what = "every line was rejected" if errors else "it holds no jobs"
        raise UserError(f"{label}: {what}; no batch was created")
    created = open_fleet().add_valid(batch, jobs)
    print(f"accepted {len(jobs)} job(s) ({len(created)} new, {len(jobs) - len(created)} "
          f"already known), rejected {len(errors)} line(s)", file=sys.stderr)
    print(batch)
    return 1 if errors else 0


def _read(file: str) -> bytes:
    if file == STDIN:
        return sys.stdin.buffer.read()
    try:
        return Path(file).read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read {file}: {exc.strerror}") from None


def status(args) -> int:
    check_batch_name(args.batch)
    fleet = open_fleet()
    found = fleet.status(args.batch)
    if args.json:
        found["jobs"] = list(fleet.job_states(args.batch))
        print(json.dumps(found))
    else:
        states = "  ".join(f"{k}={v}" for k, v in found["states"].items())
        print(f"{found['batch']}: {found['total']} jobs  {states}"
              f"  {'done' if found['done'] else 'in progress'}")
        print_failures(fleet, args.batch)
    return 0


def print_failures(fleet, batch: str) -> None:
    """Failures by reason with an example each, from the batch's small aggregates."""
    from monitor.batches import detail
    from monitor.summary import failure_lines

    found = detail(fleet.store.redis, batch)
    if found and found.failures:
        print("failures by reason:")
        print("\n".join(failure_lines([(f.reason, f.jobs, f.example) for f in found.failures])))


def wait(args) -> int:
    from monitor.batch_stats import read_rows, summarise
    from monitor.summary import print_summary
    from producers.progress import follow

    check_batch_name(args.batch)
    fleet = open_fleet()
    found = follow(fleet, args.batch, args.timeout)
    if found["done"]:
        print_summary(summarise(args.batch, read_rows(fleet.store, args.batch)))
        return 0
    states = found["states"]
    left = states["queued"] + states["submitting"] + states["running"]
    print(f"jobfleet: timed out with {left} job(s) unfinished", file=sys.stderr)
    return EXIT_TIMEOUT


def cancel(args) -> int:
    """A whole batch, or only the jobs named by --key (in BATCH) or --job. Every name is
    checked before anything is cancelled: one unknown name cancels nothing."""
    if args.key and not args.batch:
        raise UserError("--key needs the BATCH the keys belong to", status=2)
    if not (args.batch or args.job):
        raise UserError("name a BATCH, BATCH --key KEY, or --job ID", status=2)
    if args.batch:
        check_batch_name(args.batch)
    fleet = open_fleet()
    if args.batch:
        if not (args.key or args.job):
            return _cancel_batch(fleet, args.batch)
        fleet.status(args.batch)  # an unknown batch is reported as such
    named = [(k, fleet.job_id(args.batch, k)) for k in args.key] + [(j, j) for j in args.job]
    jobs = {name: fleet.job(job_id) for name, job_id in named}
    unknown = [name for name, job in jobs.items() if job is None]
    if unknown:
        where = f" in batch {args.batch}" if args.key else ""
        raise UserError(f"no such job{where}: {', '.join(unknown)}; nothing was cancelled")
    live = []
    for name, job in jobs.items():
        if job["state"] in TERMINAL:
            print(f"{name}: already {job['state']}; nothing to cancel")
        else:
            live.append(job["id"])
    if live:
        fleet.cancel(job_ids=live)
        print(f"cancellation requested for {len(live)} job(s)")
    return 0


def _cancel_batch(fleet, batch: str) -> int:
    if fleet.status(batch)["done"]:
        print(f"{batch}: every job has already ended; nothing to cancel")
        return 0
    fleet.cancel(batch=batch)
    print("cancellation requested")
    return 0
