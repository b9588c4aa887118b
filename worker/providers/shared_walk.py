"""One walk of a scope's recent creations, and the record of what it covered.

The walking half of :mod:`~worker.providers.shared_find` (which holds the rules for when a
walk answers a search). A :class:`ScopeWalker` belongs to one platform credential:

* ``:{scope}:lock`` is the walker's lease, taken with ``hold_lease.lua`` and kept by a thread
  every third of :data:`LOCK_S` while the walk runs, so a walker killed mid-walk frees the
  scope within seconds and a search waiting in its step walks instead;
* ``:marks`` maps our job id to the remote job carrying it; each chunk of rows read adds its
  markers at once, so a search is answered as soon as its row is read, and a walk cut short
  keeps what it found (a job's first remote job found stays its own);
* ``:seen`` remembers each row's marker, so a marker that costs a request is read once;
* ``:{scope}:walked`` says what the last complete walk covered (:class:`Walked`).

Rows already tracked by the job whose record holds them are not read at all.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from redis.exceptions import RedisError

from worker import keys, scripts
from worker.errors import TransientError
from worker.providers.find_waiting import WaitingSearches
from worker.providers.matching import Candidate, SearchBudget, SearchInconclusive

log = logging.getLogger("jobfleet.find")

UNSURE = "\x00unsure"  # a row whose marker could not be read (see :data:`Marker`)
Marker = Callable[[Candidate, SearchBudget], "str | None"]  # our job id, None, or UNSURE
Walk = Callable[[float, SearchBudget], Iterable[Candidate]]  # the scope's rows since a time

LOCK_S = 3.0  # a walker that died frees the scope within this (a kill must not stop walks)
KEEP_S = 3600.0  # markers, read rows and the last walk are kept this long
WALK_MAX_PAGES = 1_000  # 100,000 rows at 100 a page; past it the walk is inconclusive
WALK_BUDGET_S = 300.0  # one walk's wall time; the searching jobs' leases are heartbeated
CHUNK = 100  # rows looked up in Redis at once


@dataclass(frozen=True)
class Walked:
    """What one complete walk of a scope covered."""

    started: float
    since: float
    unread: tuple[tuple[str, float], ...] = ()  # rows whose marker could not be read
    failed: str | None = None  # the walk ran past its bounds: why
    took: float = 0.0  # seconds the walk lasted

    def covers(self, since: float, ready_at: float) -> bool:
        """Whether this walk answers a search of the window from ``since`` that began at
        ``ready_at``: it started later and reached back at least as far."""
        return self.started >= ready_at and self.since <= since

    def doubts(self, since: float) -> list[str]:
        """Rows in the window from ``since`` whose marker could not be read."""
        return [remote_id for remote_id, created in self.unread if created >= since]


class ScopeWalker:
    """The walks of one platform credential's scopes (see the module docstring)."""

    def __init__(self, redis: Any, prefix: str, provider: str, clock: Callable[[], float],
                 waiting: WaitingSearches) -> None:
        self.redis = redis
        self.provider = provider
        self.clock = clock
        self.waiting = waiting
        self._prefix = prefix
        self.marks = f"{prefix}marks"
        self._seen = f"{prefix}seen"
        self._hold = redis.register_script(scripts.read("hold_lease"))
        self._walker = f"{socket.gethostname()}:{os.getpid()}"

    def last(self, scope: str) -> Walked | None:
        raw = self.redis.get(self._key(scope, "walked"))
        if not raw:
            return None
        data = json.loads(raw)
        unread = tuple((str(rid), float(at)) for rid, at in data.get("unread", []))
        return Walked(data["started"], data["since"], unread, data.get("failed"),
                      data.get("took", 0.0))

    def walk_if_free(self, scope: str, walk: Walk, marker: Marker) -> bool:
        """Walks the scope when no one else is; False when another process holds it."""
        lock, token = self._key(scope, "lock"), f"{self._walker}:{uuid.uuid4().hex}"
        if not self._held(lock, token):
            return False
        done = threading.Event()
        keeper = threading.Thread(target=self._keep, args=(lock, token, done), daemon=True,
                                  name=f"jobfleet-walk-{scope}")
        keeper.start()
        try:
            self._walk(scope, walk, marker)
        finally:
            done.set()
            keeper.join()
            if self.redis.get(lock) == token:
                self.redis.delete(lock)
            self.waiting.wake(scope)
        return True

    def _held(self, lock: str, token: str) -> bool:
        """Takes the scope's lock if it is free, or renews ours; False when another has it."""
        return bool(self._hold(keys=[lock], args=[token, int(LOCK_S * 1000)]))

    def _keep(self, lock: str, token: str, done: threading.Event) -> None:
        """Renews the lock every third of :data:`LOCK_S` until the walk is done; a renewal
        lost to a Redis blip is tried again at the next (at worst two walks overlap)."""
        while not done.wait(LOCK_S / 3):
            try:
                self._held(lock, token)
            except RedisError as exc:
                log.info("%s: could not renew the walk lock: %s", self.provider, exc)

    def _walk(self, scope: str, walk: Walk, marker: Marker) -> None:
        """One walk from the oldest waiting window; its markers as it reads them, then what
        it covered."""
        started = self.clock()
        since = self.waiting.oldest(scope, started)
        log.info("%s: shared search of %s begins %.0f s back (walker %s)", self.provider,
                 scope, started - since, self._walker)
        budget = SearchBudget(self.provider, self.clock, pages=WALK_MAX_PAGES,
                              seconds=WALK_BUDGET_S)
        unread: list[tuple[str, float]] = []
        rows = marked = 0
        try:
            for chunk in _chunks(walk(since, budget), CHUNK):
                rows += len(chunk)
                found: dict[str, Candidate] = {}
                for candidate, mark in self._markers(chunk, marker, budget):
                    if mark == UNSURE:
                        unread.append((candidate.remote_id, candidate.created))
                    elif mark and (mark not in found or _older(candidate, found[mark])):
                        found[mark] = candidate
                marked += self._note(found)
        except TransientError as exc:
            log.info("%s: shared search of %s failed after %d rows, %d marked (walked again "
                     "by the next search that asks): %s", self.provider, scope, rows, marked,
                     exc)
            raise
        except SearchInconclusive as exc:
            log.warning("%s: shared search of %s stopped: %s", self.provider, scope, exc)
            self._record(scope, {"started": started, "since": since, "failed": exc.message,
                                 "took": self.clock() - started})
            return
        log.info("%s: shared search of %s read %d rows since %.0f s before it began in "
                 "%.1f s: %d marked, %d unreadable", self.provider, scope, rows, started - since,
                 self.clock() - started, marked, len(unread))
        self._record(scope, {"started": started, "since": since, "unread": unread,
                             "took": self.clock() - started})

    def _note(self, found: dict[str, Candidate]) -> int:
        """Records the markers of one chunk (a job's first remote job found stays its own)."""
        if not found:
            return 0
        pipe = self.redis.pipeline(transaction=False)
        for job_id, candidate in found.items():
            pipe.hsetnx(self.marks, job_id, candidate.remote_id)
        pipe.expire(self.marks, int(KEEP_S))
        pipe.execute()
        return len(found)

    def _record(self, scope: str, walked: dict[str, Any]) -> None:
        self.redis.set(self._key(scope, "walked"), json.dumps(walked), px=int(KEEP_S * 1000))

    def _markers(self, chunk: list[Candidate], marker: Marker,
                 budget: SearchBudget) -> Iterator[tuple[Candidate, str | None]]:
        """Each row's marker, for the rows not settled already (read once, then remembered)."""
        open_rows = self._unsettled(chunk)
        if not open_rows:
            return
        known = self.redis.hmget(self._seen, [c.remote_id for c in open_rows])
        fresh: dict[str, str] = {}
        for candidate, seen in zip(open_rows, known):
            if seen is not None:
                yield candidate, seen or None
                continue
            mark = marker(candidate, budget)
            if mark != UNSURE:
                fresh[candidate.remote_id] = mark or ""
            yield candidate, mark
        if fresh:
            self.redis.hset(self._seen, mapping=fresh)
            self.redis.expire(self._seen, int(KEEP_S))

    def _unsettled(self, chunk: list[Candidate]) -> list[Candidate]:
        """The rows no job of ours holds in its record: unclaimed, or claimed by a job
        that died before recording it (that job must still find its own)."""
        owners = self.redis.mget([keys.remote_key(self.provider, c.remote_id) for c in chunk])
        pipe = self.redis.pipeline(transaction=False)
        claimed = [(c, owner) for c, owner in zip(chunk, owners) if owner]
        for _, owner in claimed:
            pipe.hget(keys.job_key(owner), "remote_id")
        held = {c.remote_id for (c, _), recorded in zip(claimed, pipe.execute() if claimed
                                                          else []) if recorded == c.remote_id}
        return [c for c in chunk if c.remote_id not in held]

    def _key(self, scope: str, part: str) -> str:
        return f"{self._prefix}{scope}:{part}"


def _older(one: Candidate, other: Candidate) -> bool:
    return (one.created, one.remote_id) < (other.created, other.remote_id)


def _chunks(rows: Iterable[Candidate], size: int) -> Iterator[list[Candidate]]:
    chunk: list[Candidate] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
