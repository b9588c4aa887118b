"""A finished (or running) batch in numbers: one row per job, and the summary built from them.

Shared by ``jobfleet report`` (tables and plots) and the summary ``jobfleet wait`` prints at
the end. Reading every job is O(batch), done once, a page of records per round trip; live
pages never do this (they read :mod:`monitor.batches`).
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from worker.record import STATES, TERMINAL, Job
from worker.store import JobStore


@dataclass(frozen=True)
class JobRow:
    """What the report needs of one job; times are epoch seconds, None when not reached."""

    key: str
    provider: str
    kind: str
    state: str
    reason: str | None
    error: str | None
    queued: float | None
    started: float | None  # entered submitting: a worker took it up
    running: float | None  # the remote job exists
    ended: float | None
    remote_ended: float | None  # the platform's own end time, when it reports one
    seen_ended: float | None  # our poll that saw it ended
    requests: int  # creates + status checks + result fetch recorded on the job

    @property
    def run_s(self) -> float | None:
        """Remote run time as we saw it: from creation to the end (the platform's if known)."""
        end = self.remote_ended if self.remote_ended is not None else self.ended
        return end - self.running if self.running is not None and end is not None else None

    @property
    def queue_s(self) -> float | None:
        if self.started is None or self.queued is None:
            return None
        return self.started - self.queued

    @property
    def detection_s(self) -> float | None:
        if self.seen_ended is not None and self.remote_ended is not None:
            return max(self.seen_ended - self.remote_ended, 0.0)
        return None


def row(job: Job) -> JobRow:
    t = job.times
    ended = next((t[s] for s in TERMINAL if s in t), None)
    fetched = 1 if job.state == "succeeded" else 0
    return JobRow(key=job.key, provider=job.provider, kind=job.kind, state=job.state,
                  reason=job.reason, error=job.error, queued=t.get("queued"),
                  started=t.get("submitting"), running=t.get("running"), ended=ended,
                  remote_ended=job.remote_ended_at, seen_ended=job.seen_ended_at,
                  requests=job.submit_attempts + job.polls + fetched)


def read_rows(store: JobStore, batch: str) -> list[JobRow]:
    """Every job of ``batch`` in submission order, a page of records per round trip."""
    rows: list[JobRow] = []
    for ids in store.batch_job_ids(batch):
        rows += [row(job) for job in store.get_many(ids)]
    return rows


@dataclass(frozen=True)
class Summary:
    batch: str
    total: int
    states: dict[str, int]
    wall_s: float | None  # first job queued → last job ended
    failures: list[tuple[str, int, str]]  # reason, jobs, an example message
    groups: list[tuple[str, str, Counter, float | None]]  # platform, kind, states, median run


def summarise(batch: str, rows: Iterable[JobRow]) -> Summary:
    rows = list(rows)
    states = {s: 0 for s in STATES}
    states.update(Counter(r.state for r in rows))
    queued = [r.queued for r in rows if r.queued is not None]
    ended = [r.ended for r in rows if r.ended is not None]
    wall = max(ended) - min(queued) if queued and ended else None
    return Summary(batch=batch, total=len(rows), states=states, wall_s=wall,
                   failures=failures(rows), groups=_groups(rows))


def failures(rows: Iterable[JobRow]) -> list[tuple[str, int, str]]:
    """(reason, jobs, first message) for failed jobs, most frequent first."""
    counts: Counter = Counter()
    example: dict[str, str] = {}
    for r in rows:
        if r.state == "failed":
            reason = r.reason or "unknown"
            counts[reason] += 1
            example.setdefault(reason, r.error or "")
    return [(reason, n, example[reason]) for reason, n in counts.most_common()]


def _groups(rows: list[JobRow]) -> list[tuple[str, str, Counter, float | None]]:
    out = []
    for platform, kind in sorted({(r.provider, r.kind) for r in rows}):
        mine = [r for r in rows if (r.provider, r.kind) == (platform, kind)]
        runs = [r.run_s for r in mine if r.run_s is not None and r.state == "succeeded"]
        out.append((platform, kind, Counter(r.state for r in mine),
                    statistics.median(runs) if runs else None))
    return out
