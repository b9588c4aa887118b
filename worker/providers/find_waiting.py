"""The searches for lost creates waiting on a shared walk (see :mod:`.shared_find`).

Per platform credential, in Redis: ``:asked`` (each search, by job id and create attempt →
when it became ready for a "none" answer, how often a walk could not read a row of its
window, and its window's start) and ``:{scope}:waiting`` (the searches waiting on a scope,
scored by their last ask). A walk starts from the oldest waiting window; a walk that ends
makes the waiting searches due at once (``worker/lua/wake_due.lua``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from worker import keys
from worker.scripts import read as read_script

WAITING_S = 120.0  # a waiting search not refreshed for this long no longer widens walks
KEEP_S = 3600.0  # a search's first ask is kept this long
SUBMIT = keys.FIRST_STEP  # the step a waiting search is asked again in


@dataclass
class Search:
    """One search as first asked: answerable "none" only by a walk begun at ``ready_at`` or
    later that reached back to ``since``; ``doubted``: walks that left a row unread."""

    key: str
    member: str
    ready_at: float
    doubted: int
    since: float


class WaitingSearches:
    """The searches waiting on the scopes of one platform credential."""

    def __init__(self, redis: Any, prefix: str, provider: str,
                 clock: Callable[[], float]) -> None:
        self.redis = redis
        self.prefix = prefix
        self.provider = provider
        self.clock = clock
        self._asked = f"{prefix}asked"
        self._wake = redis.register_script(read_script("wake_due"))

    def ask(self, scope: str, job_id: str, attempt: str, since: float,
            not_before: float) -> Search:
        """The search as first asked (ready no earlier than ``not_before``), now waiting."""
        key = json.dumps([job_id, attempt])
        now = self.clock()
        self.redis.hsetnx(self._asked, key, json.dumps([max(now, not_before), 0, since]))
        self.redis.expire(self._asked, int(KEEP_S))
        asked = self.redis.hget(self._asked, key)
        ready_at, doubted, since = json.loads(asked) if asked else (now, 0, since)
        member = json.dumps([job_id, attempt, since])
        self.redis.zadd(self._waiting(scope), {member: now})
        return Search(key, member, max(ready_at, not_before), doubted, since)

    def needs_later_walk(self, search: Search, walk_started: float) -> None:
        """A walk left a row of the window unread: only a walk begun after it answers."""
        search.ready_at, search.doubted = walk_started + 1e-6, search.doubted + 1
        self.redis.hset(self._asked, search.key,
                        json.dumps([search.ready_at, search.doubted, search.since]))

    def answered(self, scope: str, search: Search) -> None:
        self.redis.zrem(self._waiting(scope), search.member)
        self.redis.hdel(self._asked, search.key)

    def oldest(self, scope: str, now: float) -> float:
        """The earliest window start among the searches waiting on ``scope``."""
        waiting = self._waiting(scope)
        self.redis.zremrangebyscore(waiting, "-inf", now - WAITING_S)
        starts = [json.loads(member)[2] for member in self.redis.zrange(waiting, 0, -1)]
        return min(starts, default=now)

    def wake(self, scope: str) -> None:
        """Makes the searches waiting on ``scope`` due now: the walk that may answer them
        ended (or failed, and one of them walks again), so none waits out its own pause.
        Only searches ready by now, of jobs handed back to wait, are moved (see
        ``wake_due.lua``); the walker's own job holds its lease."""
        searches = [json.loads(member)[:2]
                    for member in self.redis.zrange(self._waiting(scope), 0, -1)]
        if not searches:
            return
        now = self.clock()
        asked = self.redis.hmget(self._asked, [json.dumps(search) for search in searches])
        job_ids = sorted({job_id for (job_id, _), raw in zip(searches, asked)
                          if raw is None or json.loads(raw)[0] <= now})
        if job_ids:
            due = keys.due_key(SUBMIT, self.provider)
            self._wake(keys=[due], args=[now, keys.JOB, "submitting", *job_ids])

    def _waiting(self, scope: str) -> str:
        return f"{self.prefix}{scope}:waiting"
