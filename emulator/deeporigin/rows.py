"""The execution list's rows, encoded once and reused while what they show is unchanged.

A sweep over 100,000 executions asks for 100 pages of 1,000 rows every few seconds; building
every row's DTO and encoding it afresh was most of the emulator's time per page. A list row
is the compact JSON of :func:`~emulator.deeporigin.dto.render` (the v1 DTO); each execution
keeps (in ``Execution.row``) the last row built, with the job's **version** it was built for:
phase, clock start, cancel time, start and end times and whole-percent progress, all that the
clock, a confirm or a cancel changes in a row. Every page computes each job's version as of
its own ``now``, so a cached row never shows a stale status:

- the same version: the cached bytes;
- only the progress moved (a running job, every 1 % of its run): the cached row with its
  ``progressReport`` item encoded again in place;
- anything else (a new phase, a confirm, a cancel): the row rendered and encoded afresh.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from emulator.clock import JobRecord
from emulator.deeporigin.dto import STATUS_BY_PHASE, Execution, progress_report, render

Version = tuple[Any, ...]
PROGRESS = "progressReport"
_encode = json.JSONEncoder(separators=(",", ":")).encode  # as json.dumps(..., separators)


@dataclass(slots=True)
class CachedRow:
    version: Version
    row: bytes
    progress: tuple[int, int]  # where the progressReport item's value lies in ``row``


def version(job: JobRecord, now: float) -> Version:
    """Everything through which ``now`` (or a confirm or cancel) changes the job's row; the
    progress percent last, as the only part that changes while a job runs."""
    started = job.started_at(now)
    percent = round(job.progress(now) * 100) if started is not None else None
    return (job.phase(now), job.clock_start, job.cancelled_at, started, job.finished_at(now),
            percent)


def list_row(job: JobRecord, now: float) -> bytes:
    """The job's list row as of ``now``: ``json.dumps(render(job, now))``, compact, as bytes."""
    execution: Execution = job.data
    current = version(job, now)
    cached: CachedRow | None = execution.row
    if cached is not None and cached.version == current:
        return cached.row
    if cached is not None and cached.version[:-1] == current[:-1]:  # only the progress moved
        start, end = cached.progress
        value = _encode(progress_report(job, now, STATUS_BY_PHASE[current[0]], False)).encode()
        row = cached.row[:start] + value + cached.row[end:]
        execution.row = CachedRow(current, row, (start, start + len(value)))
        return row
    execution.row = _encoded(render(job, now), current)
    return execution.row.row


def list_page(jobs: Iterable[JobRecord], now: float, count: int) -> bytes:
    """The list answer ``{"data": [rows], "count": count}``, compact, as bytes."""
    rows = b",".join(list_row(job, now) for job in jobs)
    return b'{"data":[' + rows + b'],"count":' + str(count).encode() + b"}"


def _encoded(dto: dict[str, Any], current: Version) -> CachedRow:
    """The DTO encoded as ``json.dumps`` would, noting where its progressReport value lies."""
    keys = list(dto)
    at = keys.index(PROGRESS)
    before = _encode({key: dto[key] for key in keys[:at]})[:-1]  # "{...", no closing brace
    after = _encode({key: dto[key] for key in keys[at + 1:]})[1:]  # "...}", no opening brace
    head = f'{before}{"," if at else ""}"{PROGRESS}":'.encode()
    value = _encode(dto[PROGRESS]).encode()
    tail = (after if after == "}" else "," + after).encode()
    return CachedRow(current, head + value + tail, (len(head), len(head) + len(value)))
