"""``batches``, ``retry`` and ``forget``: a batch's life after its jobs are submitted."""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from datetime import UTC, datetime

from producers.commands.common import UserError, check_batch_name, open_fleet

FORGET_WAIT_S = 120.0  # how long `forget --cancel` waits for cancelled jobs to end
SHOWN_STATES = ("queued", "submitting", "running", "succeeded", "failed", "cancelled")


def register(sub) -> None:
    p = sub.add_parser("batches", help="list batches: name, created, counts, done")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(run=batches)

    p = sub.add_parser("retry", help="run a batch's failed jobs again (new attempts, same keys)")
    p.add_argument("batch")
    p.add_argument("--reason", action="append", default=[],
                   help="only jobs that failed with this reason (repeatable)")
    p.set_defaults(run=retry)

    p = sub.add_parser("forget", help="remove a finished batch now: jobs, results, files")
    p.add_argument("batch")
    p.add_argument("--cancel", action="store_true",
                   help="cancel jobs still in flight first, then forget the batch")
    p.add_argument("--timeout", type=float, default=FORGET_WAIT_S,
                   help=f"with --cancel: wait this long for jobs to end [{FORGET_WAIT_S:g}]")
    p.set_defaults(run=forget)


def batches(args) -> int:
    found = open_fleet().batches()
    if args.json:
        for batch in found:
            print(json.dumps(batch))
        return 0
    if not found:
        print("no batches", file=sys.stderr)
        return 0
    width = max(len("batch"), *(len(b["batch"]) for b in found))
    print(f"{'batch':<{width}}  {'created (UTC)':<19}  {'total':>6}  "
          + "  ".join(f"{s:>10}" for s in SHOWN_STATES) + "  done")
    for b in found:
        created = datetime.fromtimestamp(b["created"], UTC).strftime("%Y-%m-%d %H:%M:%S")
        counts = "  ".join(f"{b['states'][s]:>10}" for s in SHOWN_STATES)
        print(f"{b['batch']:<{width}}  {created}  {b['total']:>6}  {counts}  "
              f"{'yes' if b['done'] else 'no'}")
    return 0


def retry(args) -> int:
    batch = check_batch_name(args.batch)
    outcome = open_fleet().retry(batch, args.reason)
    retried = sum(1 for what in outcome.values() if what == "retried")
    refused = Counter(what for what in outcome.values() if what != "retried")
    print(f"{batch}: {retried} failed job(s) started again", file=sys.stderr)
    why = {"remote_may_run": "their remote job may still be running",
           "remote_unknown": "an earlier create may have made a remote job"}
    for what, n in refused.items():
        print(f"{batch}: {n} job(s) not retried: {why.get(what, what)}", file=sys.stderr)
    if not outcome:
        what = f" with reason {', '.join(args.reason)}" if args.reason else ""
        print(f"{batch}: no failed jobs{what}", file=sys.stderr)
    return 1 if refused else 0


def forget(args) -> int:
    from producers.api import BatchInFlight

    batch = check_batch_name(args.batch)
    fleet = open_fleet()
    if args.cancel and not fleet.status(batch)["done"]:
        fleet.cancel(batch=batch)
        deadline = time.monotonic() + args.timeout
        while not fleet.status(batch)["done"] and time.monotonic() < deadline:
            time.sleep(0.5)
    try:
        removed = fleet.forget(batch)
    except BatchInFlight as exc:
        hint = "; try again shortly" if args.cancel else "; add --cancel to cancel them first"
        raise UserError(f"not forgotten: {exc}{hint}") from None
    print(f"{batch}: forgotten ({removed} job(s), their results and files)", file=sys.stderr)
    return 0
