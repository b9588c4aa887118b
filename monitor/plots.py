"""The batch report's figures, drawn with matplotlib and returned as SVG text.

matplotlib is an optional extra (``pip install 'jobfleet[report]'``): importing this module
without it raises :class:`MissingPlotting` with the one line to show the user.
"""

from __future__ import annotations

import io
from collections import defaultdict

from monitor.batch_stats import JobRow
from worker.record import TERMINAL

try:
    import matplotlib

    matplotlib.use("Agg")  # files only: never a display
    from matplotlib import pyplot as plt
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError("the report needs matplotlib: pip install 'jobfleet[report]'") from exc

COLOURS = {"succeeded": "#2e8b57", "failed": "#c0392b", "cancelled": "#7f8c8d"}
SIZE = (7.5, 3.2)  # inches; the report's column is about this wide


def _svg(fig) -> str:
    out = io.StringIO()
    fig.savefig(out, format="svg", bbox_inches="tight")
    plt.close(fig)
    return out.getvalue()


def ended_over_time(rows: list[JobRow], start: float) -> str:
    """Jobs ended so far by outcome, against seconds since the batch began."""
    fig, ax = plt.subplots(figsize=SIZE)
    for state in TERMINAL:
        times = sorted(r.ended - start for r in rows if r.state == state and r.ended is not None)
        if times:
            ax.step([0, *times], range(len(times) + 1), where="post", label=state,
                    color=COLOURS[state])
    ax.set_xlabel("seconds since the batch was submitted")
    ax.set_ylabel("jobs ended")
    ax.legend(loc="upper left", frameon=False)
    ax.grid(alpha=0.3)
    return _svg(fig)


def run_times(rows: list[JobRow]) -> str:
    """Distribution of remote run time per platform and kind (jobs that ran)."""
    groups: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        if r.run_s is not None:
            groups[f"{r.provider}/{r.kind}"].append(r.run_s)
    fig, ax = plt.subplots(figsize=(SIZE[0], 0.5 + 0.45 * max(len(groups), 1)))
    names = sorted(groups)
    if names:
        ax.boxplot([groups[n] for n in names], vert=False, tick_labels=names, widths=0.6)
    ax.set_xlabel("remote run time (s): creation to end")
    ax.grid(alpha=0.3, axis="x")
    return _svg(fig)


def delays(rows: list[JobRow]) -> str:
    """Queue-to-start and detection delay histograms, side by side."""
    fig, (left, right) = plt.subplots(1, 2, figsize=SIZE)
    queue = [r.queue_s for r in rows if r.queue_s is not None]
    seen = [r.detection_s for r in rows if r.detection_s is not None]
    left.hist(queue or [0], bins=20, color="#2f7ed8")
    left.set_xlabel("queued → taken up by a worker (s)")
    left.set_ylabel("jobs")
    right.hist(seen or [0], bins=20, color="#8e44ad")
    right.set_xlabel("platform's end → our poll saw it (s)")
    for ax in (left, right):
        ax.grid(alpha=0.3)
    return _svg(fig)


def failure_reasons(failures: list[tuple[str, int, str]]) -> str:
    """Failed jobs per reason."""
    fig, ax = plt.subplots(figsize=(SIZE[0], 0.6 + 0.4 * max(len(failures), 1)))
    reasons = [f[0] for f in reversed(failures)]
    ax.barh(reasons, [f[1] for f in reversed(failures)], color=COLOURS["failed"])
    ax.set_xlabel("failed jobs")
    ax.grid(alpha=0.3, axis="x")
    return _svg(fig)


def requests_per_job(rows: list[JobRow]) -> str:
    """Requests each job cost its platform: mean per platform, with every job as a dot."""
    per: dict[str, list[int]] = defaultdict(list)
    for r in rows:
        per[r.provider].append(r.requests)
    names = sorted(per)
    fig, ax = plt.subplots(figsize=SIZE)
    ax.bar(names, [sum(per[n]) / len(per[n]) for n in names], color="#95a5a6", label="mean")
    for i, name in enumerate(names):
        ax.scatter([i] * len(per[name]), per[name], s=8, color="#2c3e50", alpha=0.5)
    ax.set_ylabel("requests per job")
    ax.legend(frameon=False)
    ax.grid(alpha=0.3, axis="y")
    return _svg(fig)
