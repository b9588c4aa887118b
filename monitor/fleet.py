"""The fleet's state per platform, as the fleet page and ``/metrics`` show it.

All reads are O(platforms × steps): the in-flight counters, each due index's size and its
earliest member (the jobs not yet started first, as index ``unstarted``), the pauses index
written by the throttle on a 429, and the remembered credential refusals. Nothing here reads
a job.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import redis

from worker.keys import (
    COUNTS,
    INFLIGHT,
    PAUSES,
    REFUSALS,
    authfail_key,
    due_key,
    unstarted_key,
)
from worker.record import STEPS

UNSTARTED = "unstarted"  # the index of jobs not yet started, shown beside the steps' ones


@dataclass(frozen=True)
class DueIndex:
    """One step's due index for one platform (step ``unstarted``: the jobs not yet started,
    waiting for their first submit)."""

    step: str
    depth: int
    overdue_s: float  # how late the most overdue member is; 0 when none is due yet


@dataclass(frozen=True)
class Pause:
    credential: str  # "{platform}:{hash}": names the credential without revealing it
    remaining_s: float


@dataclass(frozen=True)
class PlatformState:
    platform: str
    in_flight: int
    limit: int | None
    due: list[DueIndex]
    pauses: list[Pause]
    refused: str | None  # the remembered reason a credential was refused, if any
    refused_ttl_s: float | None


def read_fleet(
    client: redis.Redis,
    platforms: Sequence[str],
    limit_of: Callable[[str], int | None],
    now: float | None = None,
) -> list[PlatformState]:
    """The state of each platform in one round trip."""
    now = time.time() if now is None else now
    pipe = client.pipeline(transaction=False)
    pipe.hgetall(INFLIGHT)
    pipe.hgetall(PAUSES)
    pipe.zrangebyscore(REFUSALS, now, "+inf", withscores=True)
    for platform in platforms:
        for _, key in _indexes(platform):
            pipe.zcard(key)
            pipe.zrange(key, 0, 0, withscores=True)
    replies = iter(pipe.execute())
    in_flight, pauses, refusals = next(replies), next(replies), next(replies)
    reasons = _refusal_reasons(client, refusals)
    states = []
    for platform in platforms:
        refused = [(r, until - now) for c, until, r in reasons if c.split(":")[0] == platform]
        due = []
        for step, _ in _indexes(platform):
            depth, first = next(replies), next(replies)
            overdue = max(now - first[0][1], 0.0) if first else 0.0
            due.append(DueIndex(step, depth, overdue))
        states.append(PlatformState(
            platform=platform,
            in_flight=int(in_flight.get(platform, 0)),
            limit=limit_of(platform),
            due=due,
            pauses=_pauses(pauses, platform, now),
            refused=refused[0][0] if refused else None,
            refused_ttl_s=refused[0][1] if refused else None,
        ))
    return states


def _indexes(platform: str) -> list[tuple[str, str]]:
    """(name, key) of each of ``platform``'s due indexes, as shown: not started, then steps."""
    return [(UNSTARTED, unstarted_key(platform))] + [(s, due_key(s, platform)) for s in STEPS]


def _refusal_reasons(client: redis.Redis, refusals: list) -> list[tuple[str, float, str]]:
    """(credential, until, reason) of each refusal still remembered (its key not expired)."""
    if not refusals:
        return []
    texts = client.mget([authfail_key(c) for c, _ in refusals])
    return [(c, until, text) for (c, until), text in zip(refusals, texts) if text]


def _pauses(raw: dict[str, str], platform: str, now: float) -> list[Pause]:
    """Pauses of ``platform``'s credentials still in force (ended ones are left to expire)."""
    out = []
    for credential, until in sorted(raw.items()):
        if credential.split(":", 1)[0] == platform and float(until) > now:
            out.append(Pause(credential, float(until) - now))
    return out


def job_counts(client: redis.Redis) -> dict[tuple[str, str], int]:
    """(platform, state) → jobs, over every batch: one small hash."""
    out = {}
    for name, value in client.hgetall(COUNTS).items():
        platform, _, state = name.rpartition(":")
        out[(platform, state)] = int(value)
    return out
