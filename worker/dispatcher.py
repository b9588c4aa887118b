"""Turns due entries of the index into Celery messages.

Waiting jobs are members of sorted sets in Redis (``jf:due:{step}:{provider}``), scored by
when their next step is due; no message exists for a waiting job, so 100,000 jobs in flight
cost 100,000 small set members, not 100,000 countdown messages in worker memory. Jobs not
yet started wait in an index of their own (``jf:unstarted:{provider}``) and are claimed for
submit only with the room the started work leaves: a retry, a resumed step or a job whose
message was lost is never sent behind a backlog of new jobs. The queue keeps that order
too: a message carrying only started work is sent in the queue's first lane, a new job's
message in its last (:mod:`worker.broker`), so a started job's message overtakes the new
jobs' messages already queued.

Every worker process runs one dispatcher thread. Claiming is one atomic script that moves
the claimed members' due time forward by the pickup window, so dispatchers never hand out
the same job twice, and a message lost with a dying worker is sent again when the window
runs out. The window is each lane's own and follows its measured wait
(:mod:`worker.pickup`): an overloaded fleet does not send again what is merely queued.
A step's queue that is already long gets nothing more until it drains (backpressure), which
keeps every queued message young; a provider at its in-flight limit gets no submits of jobs
not yet in flight (those already in flight hold their slot and go on). How long is measured
per lane, as what a new message of that lane would wait behind: for started work the first
lane alone (new jobs' messages, even a burst of them restored after a Redis restart, never
hold it back), for new jobs every lane. So the first lane holds about ``high_water``
messages at most, and the queue as a whole about twice that (dispatchers that read a
queue's length at the same moment may each fill the room they saw).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from worker.keys import FIRST_STEP
from worker.lifecycle import prune_batches
from worker.pickup import lane_name
from worker.record import STEPS
from worker.store import JobStore

log = logging.getLogger("jobfleet.dispatcher")

TIDY_MAX_S = 60.0  # expired batches leave the batch list within this (or the retention)

SUBMIT_SHARE = 4  # a submit message carries a quarter of the chunk (see chunk_of)
Send = Callable[..., None]  # (step, job ids, until=claimed until, unstarted=lane) → one message
LANES = (False, True)  # started work, then jobs not yet started (``unstarted``)


class Dispatcher:
    """Claims due jobs and sends them, ``chunk`` ids per message, fewer per submit message
    (:meth:`chunk_of`)."""

    def __init__(
        self,
        store: JobStore,
        providers: Sequence[str],
        send: Send,
        queue_length: Callable[[str, bool], int],
        submit_room: Callable[[str], int | None],
        *,
        pickup: Callable[[str], float],
        batch: int,
        chunk: int,
        high_water: int,
    ) -> None:
        self.store = store
        self.providers = tuple(providers)
        self.send = send
        self.queue_length = queue_length
        self.submit_room = submit_room
        self.pickup = pickup  # lane's name → seconds a sent message may wait (see lane_name)
        self.batch = batch
        self.chunk = chunk
        self.high_water = high_water
        self._round = 0

    def run_once(self) -> int:
        """One round over every step and provider; returns how many jobs were dispatched.

        Each step's started work goes first, then (for submit) the jobs not yet started,
        with the in-flight room the started work left. A lane's room is shared fairly: each
        provider may take its share of what is left, and the first pick rotates every round,
        so a busy platform never starves the ones after it (its unfinished work comes due
        again after the pickup window).
        """
        sent = 0
        start = self._round % max(len(self.providers), 1)
        self._round += 1
        order = self.providers[start:] + self.providers[:start]
        for step in STEPS:
            budgets = {p: self._budget(step, p) for p in order}
            for unstarted in LANES if step == FIRST_STEP else LANES[:1]:
                sent += self._dispatch_lane(step, unstarted, order, budgets)
        return sent

    def _dispatch_lane(self, step: str, unstarted: bool, order: Sequence[str],
                       budgets: dict[str, float]) -> int:
        """One lane of one step, over every provider in ``order``; returns jobs sent."""
        sent = 0
        room = self.high_water - self.queue_length(step, unstarted)
        for left, provider in enumerate(order):  # fair shares first
            share = -(-room // (len(order) - left))  # ceil: the last one may take the rest
            unused, count = self._dispatch(step, unstarted, provider, share, budgets)
            room -= share - unused
            sent += count
        for provider in order:  # then what the quiet ones left, to whoever has work
            if room <= 0:
                break
            room, count = self._dispatch(step, unstarted, provider, room, budgets)
            sent += count
        return sent

    def chunk_of(self, step: str) -> int:
        """Job ids per message of ``step``. Poll and finalize take a message's jobs together
        (held together from the start), so their messages carry the whole chunk. Submit runs
        its jobs one after another: the jobs behind the running one wait, are what a killed
        worker strands until the pickup window ends, and their wait is what the window must
        cover, so a submit message carries :data:`SUBMIT_SHARE` of the chunk."""
        return max(1, self.chunk // SUBMIT_SHARE) if step == "submit" else self.chunk

    def _budget(self, step: str, provider: str) -> float:
        """Jobs of ``provider`` not yet in flight this round may dispatch for ``step``: its
        in-flight room (jobs already in flight hold their own slot)."""
        allowed = self.submit_room(provider) if step == "submit" else None
        return float("inf") if allowed is None else allowed

    def _dispatch(self, step: str, unstarted: bool, provider: str, room: int,
                  budgets: dict[str, float]) -> tuple[int, int]:
        """Sends due jobs of one step, lane and provider while the lane has ``room`` (in
        messages); jobs not yet in flight only while the provider's budget lasts. Returns the
        room left and the jobs sent. The claim's pickup window is the lane's own
        (:func:`worker.pickup.lane_name`)."""
        sent = 0
        while room > 0:
            chunk = self.chunk_of(step)
            budget = budgets[provider]
            # every job not yet started enters flight: its claim stops at the budget
            limit = int(min(self.batch, room * chunk, budget if unstarted else self.batch))
            if limit <= 0:
                break
            until = round(self.store.clock() + self.pickup(lane_name(step, unstarted)), 6)
            ids, entering = self.store.claim_due(
                step, provider, limit, until=until, unstarted=unstarted,
                room=None if budget == float("inf") else int(budget))
            for start in range(0, len(ids), chunk):
                self.send(step, ids[start : start + chunk], until=until, unstarted=unstarted)
                room -= 1
            budgets[provider] -= entering
            sent += len(ids)
            if len(ids) < limit:
                break
        return room, sent


class DispatcherThread(threading.Thread):
    """Runs a :class:`Dispatcher` every ``interval`` seconds until stopped."""

    def __init__(self, make: Callable[[], Dispatcher], interval: float) -> None:
        super().__init__(name="jobfleet-dispatcher", daemon=True)
        self.make = make
        self.interval = interval
        self.stopping = threading.Event()

    def run(self) -> None:
        dispatcher = self.make()
        tidy_every = min(TIDY_MAX_S, dispatcher.store.retention_s)
        next_tidy = time.monotonic()
        while not self.stopping.is_set():
            try:
                dispatcher.run_once()
                if time.monotonic() >= next_tidy:
                    next_tidy = time.monotonic() + tidy_every
                    prune_batches(dispatcher.store)
            except Exception:  # noqa: BLE001 - Redis may be restarting; try again next round
                log.warning("dispatch round failed; retrying", exc_info=True)
                self.stopping.wait(min(5.0, self.interval * 4))
            self.stopping.wait(self.interval)

    def stop(self) -> None:
        self.stopping.set()
