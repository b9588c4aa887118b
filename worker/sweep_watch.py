"""What a status sweep looks for, and what it saw: the watch list and the rows matched to it.

:class:`WatchList` holds the running jobs of one platform that sweeps look for, read from
the poll index (see :mod:`worker.sweep`); :func:`match` sorts a list page's rows into our
ended and running jobs.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from worker.providers.types import Listed, RemoteStatus, Watched
from worker.record import Job
from worker.store import JobStore

READ_PAGE = 1_000  # records decoded at once: 100,000 newcomers at once cost 350 MB of RSS


@dataclass
class Sighting:
    """What a sweep saw of our jobs: those ended (job id → status) and those still running."""

    ended: dict[str, RemoteStatus] = field(default_factory=dict)
    running: list[str] = field(default_factory=list)


def match(rows: Iterable[Listed], by_remote: Mapping[str, str]) -> Sighting:
    """Sorts a page's rows into our ended and running jobs; rows of other jobs are ignored.

    ``by_remote`` maps a remote id to our job id.
    """
    seen = Sighting()
    for remote_id, status in rows:
        job_id = by_remote.get(remote_id)
        if job_id is None:
            continue
        if status.state.terminal:
            seen.ended[job_id] = status
        else:
            seen.running.append(job_id)
    return seen


class WatchList:
    """The running jobs of one platform that sweeps look for, read from the poll index.

    Job records are read once per job and kept (remote id, kind, creation time never
    change); each refresh reads only the index's ids and the records of newcomers.
    """

    def __init__(self, store: JobStore, provider: str) -> None:
        self.store = store
        self.provider = provider
        self.jobs: dict[str, Watched] = {}  # job id → what to look for
        self.arrived = 0  # jobs new at the last refresh
        self.by_remote: dict[str, str] = {}  # remote id → job id
        self.deadlines: dict[str, float] = {}  # job id → its deadline, for those with one

    def refresh(self) -> list[Watched]:
        ids = set(self.store.due_ids("poll", self.provider))
        for gone in set(self.jobs) - ids:
            self.forget(gone)
        before = len(self.jobs)
        newcomers = sorted(ids - set(self.jobs))
        del ids
        for start in range(0, len(newcomers), READ_PAGE):
            for job in self.store.get_many(newcomers[start:start + READ_PAGE]):
                self._watch(job)
        self.arrived = len(self.jobs) - before
        return list(self.jobs.values())

    def _watch(self, job: Job) -> None:
        remote_id = job.remote_id
        if job.state != "running" or not remote_id or job.remote_done:
            return
        since = job.times.get("submitting") or job.times.get("running") or 0.0
        self.jobs[job.id] = Watched(remote_id, sys.intern(job.kind), since)
        self.by_remote[remote_id] = job.id
        if job.deadline_at:
            self.deadlines[job.id] = job.deadline_at

    def forget(self, job_id: str) -> Watched | None:
        """Stops watching a job (it ended, or left the poll index)."""
        self.deadlines.pop(job_id, None)
        watched = self.jobs.pop(job_id, None)
        if watched is not None:
            self.by_remote.pop(watched.remote_id, None)
        return watched


