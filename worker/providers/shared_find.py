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
* whoever takes the scope's lock walks the list once, from the oldest waiting window's
  start (:mod:`.shared_walk`: the lock is kept while the walker lives, markers are recorded
  in ``:marks`` as rows are read, then what the walk covered in ``:{scope}:walked``);
* a search answers from ``:marks`` as soon as its marker appears; it answers "none" only
  from a walk that started after the search began and after the create had settled (the
  job's ``settle_at``), and reached back past the search's window with no unreadable row in
  it. Otherwise it makes the next walk, or, while another process walks (or until its create
  settles), waits in its step (up to :data:`HOLD_S`), then raises :class:`WalkUnderWay`: its
  step is asked again shortly, costing no error and holding no worker thread;
* a walk that ends makes every search waiting on its scope (and settled) due at once
  (``worker/lua/wake_due.lua``), so none waits out its own pause for the next walk.

The safety rule is unchanged: a walk past its bounds (:data:`~.shared_walk.WALK_MAX_PAGES`,
:data:`~.shared_walk.WALK_BUDGET_S`) fails every search it covered with ``submit_unknown``,
and a row whose marker cannot be read keeps the searches whose window holds it from
answering "none".
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from worker import keys
from worker.errors import Throttled, TransientError
from worker.providers.find_waiting import WaitingSearches
from worker.providers.matching import SearchInconclusive
from worker.providers.shared_walk import LOCK_S, WALK_BUDGET_S, Marker, ScopeWalker, Walk, Walked

WAIT_S = 1.0  # shortest wait of a search for a walk under way
MAX_PAUSE_S = 10.0  # longest
HOLD_S = 10.0  # a search waits this long in its step for a walk under way, then hands back
HOLD_POLL_S = 0.2  # how often it looks meanwhile
WAIT_LIMIT_S = 2 * WALK_BUDGET_S + LOCK_S  # a search unanswered this long starts afresh


class WalkUnderWay(Throttled):
    """Another process is walking the list this search waits on: ask again shortly.

    A ``Throttled``, so the step is rescheduled without counting an error and no thread
    waits; the search keeps its place in the queue and the time it first asked.
    """


class SharedFind:
    """The shared search of one platform credential (see the module docstring)."""

    def __init__(self, redis: Any, credential: str, provider: str,
                 clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.redis = redis
        self.provider = provider
        self.clock = clock
        self.sleep = sleep
        prefix = keys.find_prefix(credential)
        self.waiting = WaitingSearches(redis, prefix, provider, clock)
        self.walker = ScopeWalker(redis, prefix, provider, clock, self.waiting)

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
        waits for it in its step when it comes within :data:`HOLD_S` of the first ask (a
        create cut short by a kill, resumed one lease later), and walks again then; else it
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
                found = self.redis.hget(self.walker.marks, job_id)
                if found:
                    return found
                walked = self.walker.last(scope)
                if walked is not None and walked.covers(since, search.ready_at):
                    if self._shows_absent(walked, since, search.doubted):
                        return None
                    self.waiting.needs_later_walk(search, walked.started)
                now = self.clock()
                if walks and now < search.ready_at <= hold_until:
                    self.sleep(HOLD_POLL_S)  # settles within the hold: walk again then, here
                    continue
                stop = self._stop(scope, now, search.ready_at, walks)
                if stop is not None:
                    answered = not isinstance(stop, WalkUnderWay)  # else it keeps its place
                    raise stop
                if self.walker.walk_if_free(scope, walk, marker):
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
