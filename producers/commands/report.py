"""``report``: a batch's self-contained HTML report (see :mod:`monitor.report`)."""

from __future__ import annotations

from pathlib import Path

from producers.commands.common import UserError, check_batch_name, open_fleet


def register(sub) -> None:
    p = sub.add_parser("report", help="write a batch's HTML report with plots (one file)")
    p.add_argument("batch")
    p.add_argument("--out", type=Path, help="the HTML file (default: report-BATCH.html)")
    p.set_defaults(run=report)


def report(args) -> int:
    from monitor.report import MissingPlotting, write

    batch = check_batch_name(args.batch)
    out = args.out or Path(f"report-{batch}.html")
    fleet = open_fleet()
    try:
        summary = write(fleet.store, batch, out)
    except MissingPlotting as exc:
        raise UserError(str(exc)) from None
    except OSError as exc:
        raise UserError(f"cannot write {out}: {exc.strerror}") from None
    print(f"{out}: {summary.total} jobs, "
          + ", ".join(f"{n} {state}" for state, n in summary.states.items() if n))
    return 0
