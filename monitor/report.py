"""``jobfleet report BATCH``: one self-contained HTML file about a batch, plots included.

Everything is inside the file (styles inline, figures as SVG data URIs), so it opens from a
mail attachment or a shared folder with no network. Tables: the summary per platform and
kind, failures by reason with an example each; figures: jobs ended over time, run time per
platform and kind, queue-to-start and detection delays, failures by reason, requests per job.
"""

from __future__ import annotations

import base64
import statistics
import time
from importlib import resources
from pathlib import Path

from tornado import template

from monitor.batch_stats import Summary, read_rows, summarise
from monitor.summary import seconds
from producers.api import UnknownBatch
from worker.record import TERMINAL
from worker.store import JobStore


class MissingPlotting(RuntimeError):
    """matplotlib, an optional extra, is not installed."""


def _plots():
    try:
        from monitor import plots
    except ImportError as exc:
        raise MissingPlotting(str(exc)) from None
    return plots


def data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def build(store: JobStore, batch: str) -> tuple[str, Summary]:
    """The report's HTML for ``batch`` and the summary it shows (``UnknownBatch`` when
    there is no such batch, ``MissingPlotting`` without matplotlib)."""
    if store.batch_counts(batch) is None:
        raise UnknownBatch(batch)
    plots = _plots()
    rows = read_rows(store, batch)
    summary = summarise(batch, rows)
    start = min((r.queued for r in rows if r.queued is not None), default=time.time())
    figures = [
        ("Jobs ended over time", plots.ended_over_time(rows, start)),
        ("Run time per platform and kind", plots.run_times(rows)),
        ("Queue-to-start and detection delays", plots.delays(rows)),
        ("Requests to each platform per job", plots.requests_per_job(rows)),
    ]
    if summary.failures:
        figures.insert(1, ("Failures by reason", plots.failure_reasons(summary.failures)))
    source = resources.files("monitor").joinpath("templates", "report.html").read_text("utf-8")
    page = template.Template(source, name="report.html", autoescape="xhtml_escape")
    html = page.generate(s=summary, figures=[(t, data_uri(svg)) for t, svg in figures],
                         terminal=TERMINAL, seconds=seconds, made=time.gmtime(),
                         strftime=time.strftime, delays=_delay_table(rows)).decode()
    return html, summary


def _delay_table(rows) -> list[tuple[str, str, str]]:
    """(what, median, worst) for the delays a user asks about."""
    out = []
    for what, values in (("queue to start", [r.queue_s for r in rows]),
                         ("remote run", [r.run_s for r in rows]),
                         ("detection delay", [r.detection_s for r in rows])):
        known = [v for v in values if v is not None]
        out.append((what, seconds(statistics.median(known)) if known else "—",
                    seconds(max(known)) if known else "—"))
    return out


def write(store: JobStore, batch: str, out: Path) -> Summary:
    """Writes the report to ``out``; returns the summary it shows."""
    html, summary = build(store, batch)
    out.write_text(html, encoding="utf-8")
    return summary
