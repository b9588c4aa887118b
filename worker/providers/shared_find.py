"""One walk of a platform's recent creations settles every lost create waiting on it.

A create whose answer was lost is settled by looking for the remote job it may have made
(:class:`~worker.providers.payload_search.PayloadSearch`). Searched job by job, a burst costs
N searches × the pages of the whole burst: when 2,500 jobs of one platform are created within
a minute, each search reads thousands of rows and runs past its bounds. Where the remote job
carries our job id in a field we can read back (a **marker**: Moderately's summary, the
seed name of an OpenProtein MSA), the fleet searches once per platform credential and
**scope** (one list the remote job must be in: a configuration version, a job type) instead:

* a search notes when it first asked and its window (``:asked``), and waits in
  ``:{scope}:waiting`` (refreshed each time it asks; both kept by :mod:`.find_waiting`);
* whoever takes the scope's lock (``:{scope}:lock``, kept by a thread of the walker's
  every third of :data:`LOCK_S`, so a killed walker frees it within seconds and a search
  waiting in its step walks instead) walks the list once, from the oldest waiting
  window's start. It records the markers it reads in ``:marks`` (our job id → the remote
  job carrying it) chunk by chunk, so a search is answered as soon as its row is read and
  a walk cut short keeps what it found; then what it covered in ``:{scope}:walked`` (when
  it started, from when, which rows it could not read);
* a search answers from ``:marks`` as soon as its marker appears; it answers "none" only
  from a walk that started after the search began and after the create had settled (the
  job's ``settle_at``), and reached back past the search's window with no unreadable row in
  it. Otherwise it makes the next walk, or, while another process walks, waits in its step
  for that walk's end (up to :data:`HOLD_S`), then raises :class:`WalkUnderWay`: its step is
  asked again shortly, costing no error and holding no worker thread;
* a walk that ends makes every search waiting on its scope (and settled) due at once
  (``worker/lua/wake_due.lua``), so none waits out its own pause for the next walk.

Rows a walk need not read: those already tracked by the job whose record holds them (the
create's answer arrived). A row registered to a job whose record does not hold it (a worker
died between claiming and recording it) is read, so that job still finds its own. Markers
that cost a request (OpenProtein reads the MSA back) are remembered per remote job
(``:seen``), so a row is read once however many walks pass over it.

The safety rule is unchanged: a walk past its bounds (:data:`WALK_MAX_PAGES`,
:data:`WALK_BUDGET_S`) fails every search it covered with ``submit_unknown``, and a row whose
marker cannot be read keeps the searches whose window holds it from answering "none".
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from redis.exceptions import RedisError

from worker import keys, scripts
from worker.errors import Throttled, TransientError
from worker.providers.find_waiting import WaitingSearches
from worker.providers.matching import Candidate, SearchBudget, SearchInconclusive

log = logging.getLogger("jobfleet.find")

UNSURE = "\x00unsure"  # a row whose marker could not be read (see :data:`Marker`)
Marker = Callable[[Candidate, SearchBudget], "str | None"]  # our job id, None, or UNSURE
Walk = Callable[[float, SearchBudget], Iterable[Candidate]]  # the scope's rows since a time

LOCK_S = 3.0  # a walker that died frees the scope within this (a kill must not stop walks)
WAIT_S = 1.0  # shortest wait of a search for a walk under way
MAX_PAUSE_S = 10.0  # longest
HOLD_S = 10.0  # a search waits this long in its step for a walk under way, then hands back
HOLD_POLL_S = 0.2  # how often it looks meanwhile
KEEP_S = 3600.0  # markers, read rows and the last walk are kept this long
WALK_MAX_PAGES = 1_000  # 100,000 rows at 100 a page; past it the walk is inconclusive
WALK_BUDGET_S = 300.0  # one walk's wall time; the searching jobs' leases are heartbeated
WAIT_LIMIT_S = 2 * WALK_BUDGET_S + LOCK_S  # a search unanswered this long starts afresh
CHUNK = 100  # rows looked up in Redis at once


class WalkUnderWay(Throttled):
    """Another process is walking the list this search waits on: ask again shortly.

    A ``Throttled``, so the step is rescheduled without counting an error and no thread
    waits; the search keeps its place in the queue and the time it first asked.
    """


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


class SharedFind:
    """The shared search of one platform credential (see the module docstring)."""

    def __init__(self, redis: Any, credential: str, provider: str,
                 clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.redis = redis
        self.provider = provider
        self.clock = clock
        self.sleep = sleep
        self._prefix = keys.find_prefix(credential)
        self._marks = f"{self._prefix}marks"
        self._seen = f"{self._prefix}seen"
        self.waiting = WaitingSearches(redis, self._prefix, provider, clock)
        self._hold = redis.register_script(scripts.read("hold_lease"))
        self._walker = f"{socket.gethostname()}:{os.getpid()}"

    def settle(self, job_id: str, attempt: str, scope: str, since: float, walk: Walk,
               marker: Marker, not_before: float = 0.0) -> str | None:
        """The remote job marked with ``job_id`` in ``scope``; None when a walk that began
        after this search first asked, and not before ``not_before`` (the create's settle
        time: it may be processed until then), reached back to ``since`` and showed none.

        ``attempt`` names the create searched for (its start): the search's start and window
        are those of its first ask, however often the step is asked again.

        Walks the scope itself when no one else is; while another process walks it, waits
        for that walk's end up to :data:`HOLD_S` (polling, its lease heartbeated), then
        raises :class:`WalkUnderWay` (a ``Throttled``: the step is asked again shortly, or
        as soon as a walk ends, costing no error and holding no thread); the search keeps
        its place and its start meanwhile. Before ``not_before``, a search that found nothing
        is asked again then. Raises ``SearchInconclusive`` when the walk that would answer
        ran past its bounds or twice could not read a row of the window, and
        ``TransientError`` when no walk answered within :data:`WAIT_LIMIT_S` (the step is
        tried again later, afresh).
        """
        search = self.waiting.ask(scope, job_id, attempt, since, not_before)
        since, now = search.since, self.clock()
        answered, walks, hold_until = True, 0, now + HOLD_S
        try:
            while True:  # look; walk if no one is, else wait for the walk under way; again
                found = self.redis.hget(self._marks, job_id)
                if found:
                    return found
                walked = self.last_walk(scope)
                if walked is not None and walked.covers(since, search.ready_at):
                    if self._shows_absent(walked, since, search.doubted):
                        return None
                    self.waiting.needs_later_walk(search, walked.started)
                stop = self._stop(scope, self.clock(), search.ready_at, walks)
                if stop is not None:
                    answered = not isinstance(stop, WalkUnderWay)  # else it keeps its place
                    raise stop
                if self._walk_if_free(scope, walk, marker):
                    walks += 1
                elif self.clock() < hold_until:
                    self.sleep(HOLD_POLL_S)
                else:
                    answered = False
                    raise WalkUnderWay(
                        f"a shared search of {scope} is under way; asking again shortly",
                        retry_after=self._pause(walked), provider=self.provider)
        finally:
            if answered:
                self.waiting.answered(scope, search)

    def _shows_absent(self, walked: Walked, since: float, doubted: int) -> bool:
        """Whether a walk covering the search shows its remote job absent; False when one
        row of its window was unreadable (a later walk reads it again); raises when the walk
        ran past its bounds or such a row stayed unreadable twice."""
        if walked.failed:
            raise SearchInconclusive(walked.failed, provider=self.provider)
        doubts = walked.doubts(since)
        if not doubts:
            return True
        if doubted >= 1:
            raise SearchInconclusive(
                f"remote job(s) {', '.join(doubts[:3])} may be the one a lost create made, but "
                "their inputs could not be read back; not created again, to never run the job "
                "twice", provider=self.provider)
        return False

    def _stop(self, scope: str, now: float, ready_at: float,
              walks: int) -> TransientError | None:
        """Why a search that walked ``walks`` times and is not answered stops now, if it
        does: waited too long (start afresh), not settled yet, or walked twice already."""
        if now > ready_at + WAIT_LIMIT_S:
            return TransientError("the shared search for a lost create found no answer in "
                                  "time; searching again later", provider=self.provider)
        if walks and now < ready_at:
            return WalkUnderWay(f"not found in {scope} yet; the create may still be "
                                "processed: searching again when it has settled",
                                retry_after=ready_at - now, provider=self.provider)
        if walks >= 2:
            return WalkUnderWay(f"a shared search of {scope} answered others first; asking "
                                "again", retry_after=WAIT_S, provider=self.provider)
        return None

    @staticmethod
    def _pause(walked: Walked | None) -> float:
        """How long a search waits for a walk under way: half the last walk's length."""
        last = walked.took if walked is not None else 0.0
        return min(max(last / 2, WAIT_S), MAX_PAUSE_S)

    def last_walk(self, scope: str) -> Walked | None:
        raw = self.redis.get(self._key(scope, "walked"))
        if not raw:
            return None
        data = json.loads(raw)
        unread = tuple((str(rid), float(at)) for rid, at in data.get("unread", []))
        return Walked(data["started"], data["since"], unread, data.get("failed"),
                      data.get("took", 0.0))

    def _walk_if_free(self, scope: str, walk: Walk, marker: Marker) -> bool:
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
            pipe.hsetnx(self._marks, job_id, candidate.remote_id)
        pipe.expire(self._marks, int(KEEP_S))
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
