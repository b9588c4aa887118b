"""A batch's summary in the terminal: what ``jobfleet wait`` ends with, and what the report's
first table shows (both from :mod:`monitor.batch_stats`)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from monitor.batch_stats import Summary
from worker.record import TERMINAL

EXAMPLE_CHARS = 120  # a failure's example message, cut to fit a terminal line


def seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}s"


def summary_table(s: Summary) -> Table:
    """Jobs per platform and kind by outcome, with the median run time of those that ran."""
    wall = f", {seconds(s.wall_s)} from first queued to last ended" if s.wall_s else ""
    table = Table(title=f"batch {s.batch}: {s.total} jobs{wall}")
    for column in ("platform", "kind", *TERMINAL, "median run"):
        table.add_column(column, no_wrap=True)
    for platform, kind, states, median in s.groups:
        table.add_row(platform, kind, *(str(states[x]) for x in TERMINAL), seconds(median))
    return table


def failure_lines(failures: list[tuple[str, int, str]]) -> list[str]:
    """'reason ×n: example' per reason, most frequent first."""
    out = []
    for reason, n, example in failures:
        text = example if len(example) <= EXAMPLE_CHARS else example[: EXAMPLE_CHARS - 1] + "…"
        out.append(f"  {reason} ×{n}: {text}")
    return out


def print_summary(s: Summary, console: Console | None = None) -> None:
    console = console or Console()
    console.print(summary_table(s))
    if s.failures:
        console.print("failures by reason:", highlight=False)
        for line in failure_lines(s.failures):
            console.print(line, highlight=False, markup=False)
