"""Indexes over one provider's jobs, so a list page never scans every job.

A fleet sweeping 100,000 jobs in flight asks for pages such as "this project's executions
created after T" or "this account's jobs that succeeded": answering each page by filtering
and sorting the whole job table would cost a scan of all 100,000 per page. The index keeps:

- per **scope** (what a caller may see: a Deep Origin org and project, an OpenProtein
  account, a Moderately team and kind), the jobs in creation order, so a ``created after``
  window is a binary search and a page is a slice; likewise per narrower scope a list
  filters by (a Moderately team, kind and configuration version);
- per scope and **terminal phase**, the jobs that reached it, in creation order. Phases
  follow from time (see :mod:`emulator.clock`), so a job's end is known when its clock
  starts: it waits in a heap and moves to its phase's list once that moment has passed
  (``drain``); a cancel moves it at once.

Order everywhere is ``(created_at, remote_id)``, unique and stable, so pages never overlap.
Jobs created with the ``unlisted`` override are never indexed (lists never show them).
"""

from __future__ import annotations

import heapq
from bisect import bisect_right
from collections.abc import Hashable
from itertools import count

from emulator.clock import CANCELLED, JobRecord

Key = tuple[float, str]
_LAST = "\U0010ffff"  # sorts after every remote id: (t, _LAST) ends the ties at t


class CreationOrder:
    """Jobs in ``(created_at, remote_id)`` order; inserting is a binary search."""

    __slots__ = ("keys", "jobs")

    def __init__(self) -> None:
        self.keys: list[Key] = []
        self.jobs: list[JobRecord] = []

    def add(self, job: JobRecord, tie: str | None = None) -> None:
        """Inserts ``job``; ``tie`` orders jobs created in the same millisecond (default:
        the remote id)."""
        key = (job.created_at, job.remote_id if tie is None else tie)
        at = bisect_right(self.keys, key)
        self.keys.insert(at, key)
        self.jobs.insert(at, job)

    def after(self, since: float | None) -> list[JobRecord]:
        """Jobs created strictly after ``since`` (all when None), oldest first."""
        start = 0 if since is None else bisect_right(self.keys, (since, _LAST))
        return self.jobs[start:]

    def __len__(self) -> int:
        return len(self.jobs)


class JobIndex:
    """Creation-order and terminal-phase indexes of one provider's jobs, by scope."""

    def __init__(self) -> None:
        self._created: dict[Hashable, CreationOrder] = {}
        self._ended: dict[tuple[Hashable, str], CreationOrder] = {}
        self._scope: dict[str, Hashable] = {}  # remote id → scope
        self._ends: list[tuple[float, int, JobRecord]] = []  # heap of (end time, seq, job)
        self._seq = count()

    def add(self, job: JobRecord, scope: Hashable, also: tuple[Hashable, ...] = (),
            tie: str | None = None) -> None:
        """Indexes a new job (its clock may already run); ``also`` are narrower scopes a
        list may filter by (a configuration version), kept in creation order, ties by ``tie``."""
        if job.plan.unlisted:
            return
        self._scope[job.remote_id] = scope
        self._created.setdefault(scope, CreationOrder()).add(job)
        for narrower in also:
            self._created.setdefault(narrower, CreationOrder()).add(job, tie)
        self.started(job)

    def started(self, job: JobRecord) -> None:
        """The job's clock started (at creation, or at a confirm): its end is now known."""
        if job.remote_id in self._scope and job.clock_start is not None:
            end = job.clock_start + job.plan.queue_s + job.plan.duration_s
            heapq.heappush(self._ends, (end, next(self._seq), job))

    def cancelled(self, job: JobRecord) -> None:
        """The job was cancelled: it is in the cancelled phase from now on."""
        scope = self._scope.get(job.remote_id)
        if scope is not None:
            self._ended.setdefault((scope, CANCELLED), CreationOrder()).add(job)

    def created(self, scope: Hashable, since: float | None = None) -> list[JobRecord]:
        """The scope's jobs created after ``since``, oldest first."""
        found = self._created.get(scope)
        return found.after(since) if found is not None else []

    def in_phase(
        self, scope: Hashable, phase: str, now: float, since: float | None = None
    ) -> list[JobRecord]:
        """The scope's jobs in terminal ``phase`` at ``now``, created after ``since``."""
        self.drain(now)
        found = self._ended.get((scope, phase))
        return found.after(since) if found is not None else []

    def drain(self, now: float) -> None:
        """Moves every job whose end has come to its outcome's list."""
        while self._ends and self._ends[0][0] <= now:
            end, _, job = heapq.heappop(self._ends)
            if job.cancelled_at is not None:
                continue  # listed as cancelled when that happened
            phase = job.phase(now)
            if phase != job.plan.outcome:  # rounding at the boundary: look again shortly
                heapq.heappush(self._ends, (end + 1e-6, next(self._seq), job))
                break
            scope = self._scope[job.remote_id]
            self._ended.setdefault((scope, phase), CreationOrder()).add(job)
