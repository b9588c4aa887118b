"""A live progress bar over a batch's state counts (one O(1) status read per refresh)."""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from producers.api import Fleet

REFRESH_S = 0.5


def follow(fleet: Fleet, batch: str, timeout_s: float | None = None,
           console: Console | None = None) -> dict:
    """Shows progress until every job has ended or ``timeout_s`` passes; returns the last status."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TextColumn("{task.fields[states]}"))
    status = fleet.status(batch)
    with Progress(*columns, console=console or Console(stderr=True)) as progress:
        bar = progress.add_task(batch, total=status["total"], states="")
        while True:
            states = status["states"]
            ended = states["succeeded"] + states["failed"] + states["cancelled"]
            shown = " ".join(f"{k}={v}" for k, v in states.items() if v)
            progress.update(bar, completed=ended, total=status["total"], states=shown)
            if status["done"] or (deadline is not None and time.monotonic() >= deadline):
                return status
            time.sleep(REFRESH_S)
            status = fleet.status(batch)
