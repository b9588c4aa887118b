"""What the monitor knows about batches, read from the small aggregates the job store keeps.

Every state change updates a few counters in the same Lua step (``worker/lua/aggregates.lua``;
the keys are listed in :mod:`worker.keys`), so every read here costs O(what is shown), never
O(jobs).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import redis

from worker.keys import BATCHES, batch_key
from worker.record import STATES, TERMINAL

ACTIVE = tuple(s for s in STATES if s not in TERMINAL)


@dataclass(frozen=True)
class BatchSummary:
    """One batch's counts, as listed and as ``status --json`` prints them."""

    batch: str
    total: int
    states: dict[str, int]
    created_at: float | None
    changed_at: float | None

    @property
    def ended(self) -> int:
        return sum(self.states[s] for s in TERMINAL)

    @property
    def done(self) -> bool:
        return not any(self.states[s] for s in ACTIVE)

    @property
    def progress(self) -> float:
        """Share of jobs ended, 0..1 (an empty batch is complete)."""
        return self.ended / self.total if self.total else 1.0

    def status(self) -> dict:
        """The ``status --json`` object."""
        return {"batch": self.batch, "total": self.total, "states": dict(self.states),
                "done": self.done}


@dataclass(frozen=True)
class Failure:
    reason: str
    jobs: int
    example: str


@dataclass(frozen=True)
class BatchDetail:
    """A batch page's worth: counts, per-platform counts, failures, and the ended timeline."""

    summary: BatchSummary
    platforms: dict[str, dict[str, int]]
    failures: list[Failure]
    timeline: list[tuple[float, dict[str, int]]] = field(default_factory=list)
    cancel_requested: bool = False

    def cumulative(self) -> list[tuple[float, int]]:
        """(time, jobs ended by then) at the end of each 10 s bucket, for a progress line."""
        points, ended = [], 0
        for at, counts in self.timeline:
            ended += sum(counts.values())
            points.append((at, ended))
        return points


def _summary(batch: str, raw: dict[str, str]) -> BatchSummary:
    def number(name: str) -> float | None:
        return float(raw[name]) if raw.get(name) else None

    return BatchSummary(batch=batch, total=int(raw.get("total", 0)),
                        states={s: int(raw.get(s, 0)) for s in STATES},
                        created_at=number("created_at"), changed_at=number("changed_at"))


def summaries(client: redis.Redis, batches: list[str]) -> list[BatchSummary | None]:
    """Each named batch's summary (None for an unknown one): one round trip."""
    pipe = client.pipeline(transaction=False)
    for batch in batches:
        pipe.hgetall(batch_key(batch))
    return [_summary(b, raw) if raw else None for b, raw in zip(batches, pipe.execute())]


def summary(client: redis.Redis, batch: str) -> BatchSummary | None:
    return summaries(client, [batch])[0]


def batch_list(client: redis.Redis, offset: int = 0, limit: int = 50) -> tuple[int, list]:
    """(how many batches exist, one page of their summaries, newest first)."""
    pipe = client.pipeline(transaction=False)
    pipe.zcard(BATCHES)
    pipe.zrevrange(BATCHES, offset, offset + limit - 1)
    count, names = pipe.execute()
    return count, [s for s in summaries(client, names) if s is not None]


def detail(client: redis.Redis, batch: str) -> BatchDetail | None:
    """Everything the batch page shows, in one round trip; None for an unknown batch."""
    key = batch_key(batch)
    pipe = client.pipeline(transaction=False)
    for suffix in ("", ":platforms", ":reasons", ":examples", ":ended"):
        pipe.hgetall(key + suffix)
    raw, platforms, reasons, examples, ended = pipe.execute()
    if not raw:
        return None
    failures = [Failure(r, int(n), examples.get(r, "")) for r, n in reasons.items() if int(n)]
    failures.sort(key=lambda f: (-f.jobs, f.reason))
    return BatchDetail(summary=_summary(batch, raw), platforms=_per_platform(platforms),
                       failures=failures, timeline=_timeline(ended),
                       cancel_requested=raw.get("cancel") == "1")


def _per_platform(raw: dict[str, str]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for name, value in raw.items():
        platform, _, state = name.rpartition(":")
        out.setdefault(platform, {s: 0 for s in ("total", *STATES)})[state] = int(value)
    return dict(sorted(out.items()))


def _timeline(raw: dict[str, str]) -> list[tuple[float, dict[str, int]]]:
    buckets: dict[float, dict[str, int]] = {}
    for name, value in raw.items():
        at, _, state = name.partition(":")
        buckets.setdefault(float(at), {})[state] = int(value)
    return sorted(buckets.items())
