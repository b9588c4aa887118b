"""The execution list's rows, encoded once and reused while what they show is unchanged.

A sweep over 100,000 executions asks for 100 pages of 1,000 rows every few seconds; building
every row's DTO and encoding it afresh was most of the emulator's time per page. A list row
is the compact JSON of :func:`~emulator.deeporigin.dto.render` (the v1 DTO), so each
execution keeps (in ``Execution.row``):

- a **template**: the row's ``"key":value`` items that never change after the create (ids,
  inputs, metadata, quotation...) encoded once, between the names of the items the clock
  changes (:func:`~emulator.deeporigin.dto.moving`: status, times, outputs, progress);
- the last **row** built, with the job's **version** it was built for: phase, clock start,
  cancel time, start and end times and whole-percent progress, all that the clock or a
  confirm or cancel changes in a row. Each page computes every job's version as of its own
  ``now``; a row of another version is built again from the template, so a cached row never
  shows a stale status.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any

from emulator.clock import JobRecord
from emulator.deeporigin.dto import STATUS_BY_PHASE, Execution, moving, progress_report, render

Version = tuple[Any, ...]
MOVING = frozenset({"status", "updatedAt", "startedAt", "completedAt", "jobOutputs",
                    "progressReport", "statusReason"})
PROGRESS = "progressReport"


@dataclass(slots=True)
class CachedRow:
    template: tuple[bytes | str, ...]  # encoded items (bytes) and names of moving ones (str)
    version: Version
    moving: dict[str, bytes]  # the moving items as encoded for this version
    row: bytes


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
        status = STATUS_BY_PHASE[current[0]]
        items = {**cached.moving, PROGRESS: _item(PROGRESS, progress_report(job, now, status,
                                                                            False))}
    else:
        items = {key: _item(key, value) for key, value in moving(job, now).items()}
    template = cached.template if cached is not None else _template(render(job, now))
    row = b"{" + b",".join(
        piece if isinstance(piece, bytes) else items[piece] for piece in template) + b"}"
    execution.row = CachedRow(template, current, items, row)
    return row


def list_page(jobs: Iterable[JobRecord], now: float, count: int) -> bytes:
    """The list answer ``{"data": [rows], "count": count}``, compact, as bytes."""
    rows = b",".join(list_row(job, now) for job in jobs)
    return b'{"data":[' + rows + b'],"count":' + str(count).encode() + b"}"


def _template(dto: dict[str, Any]) -> tuple[bytes | str, ...]:
    """The DTO's items in order: runs of fixed items encoded together, moving ones by name."""
    pieces: list[bytes | str] = []
    run: list[bytes] = []
    for key, value in dto.items():
        if key in MOVING:
            if run:
                pieces.append(b",".join(run))
                run = []
            pieces.append(key)
        else:
            run.append(_item(key, value))
    if run:
        pieces.append(b",".join(run))
    return tuple(pieces)


_encode = json.JSONEncoder(separators=(",", ":")).encode  # what json.dumps(..., separators) does
_names: dict[str, str] = {}  # key → its encoded name and colon


def _item(key: str, value: Any) -> bytes:
    name = _names.get(key)
    if name is None:
        name = _names[key] = _encode(key) + ":"
    if value is None:
        return (name + "null").encode()
    if type(value) is str:
        return (name + encode_basestring_ascii(value)).encode()
    return (name + _encode(value)).encode()
