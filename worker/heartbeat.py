"""Keeps a started step's jobs leased for as long as the worker running it lives.

Recovery is bounded by two short windows instead of one long step lease:

* **pickup**: the dispatcher pushes a claimed job's due time only this far. A message no
  worker has started by then (lost with a killed worker's prefetch, or to a Redis restart)
  is simply dispatched again. The window adapts to the queue's measured wait
  (:mod:`worker.pickup`): ``JOBFLEET_PICKUP_S`` while the queue is quick, up to 1.5 × the
  longest recent wait (at most ``JOBFLEET_PICKUP_MAX_S``) while it is slow, so an
  overloaded fleet never re-dispatches work that is merely queued. The waits are noted
  here, as each job's step starts (its message carries its send time), and published by
  this module's thread once per beat. Once a worker takes a submit message, its jobs are
  no longer merely queued: :meth:`Heartbeat.taken` makes them due one lease later instead
  of at the window's end, so a worker killed while running the message strands them for
  a lease at most, however wide the window grew.
* **heartbeat** (``JOBFLEET_LEASE_S``): when a message's step starts, its jobs' due times
  move to the end of a lease, and this module's thread moves them on every third of a lease
  while the step runs, so a long step (a slow search, a big upload) is never taken over
  while its worker lives, and a dead worker's steps come back one lease after its last
  beat. Submit and finalize also hold a record lease (their fence, :class:`LeaseFence`);
  it is renewed here too, sharing the fence's token.

Every move is conditional (``touch_due.lua``, ``renew.lua``): a job the step has meanwhile
rescheduled, or another worker has taken over, is dropped from the beat, never pushed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager

from worker.pickup import QueueWaits
from worker.results.upload import LeaseFence
from worker.store import JobStore

log = logging.getLogger("jobfleet.heartbeat")

BEATS_PER_LEASE = 3  # a beat missed to a Redis blip still leaves two before the lease ends
MAX_HOLD_LEASES = 10  # a step kept this many leases is let go: a hung thread must not hold
# its jobs forever (the beat proves the process alive, not the step); a step that is merely
# long is then resumed by another worker, and the fences keep that from doing anything twice


class Heartbeat:
    """The jobs whose steps this process is running, and the thread that keeps them leased."""

    def __init__(self, store: JobStore, providers: Sequence[str], lease_s: float,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.providers = tuple(providers)
        self.lease_s = lease_s
        self.clock = clock
        self._lock = threading.Lock()
        self._due: dict[str, dict[str, str]] = defaultdict(dict)  # step → id → score we set
        self._fences: dict[LeaseFence, float] = {}  # fence → when it was first held
        self._since: dict[tuple[str, str], float] = {}  # (step, id) → when it started
        self.max_hold_s = lease_s * MAX_HOLD_LEASES
        self.waits = QueueWaits(clock)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @contextmanager
    def running(self, step: str, job_ids: Iterable[str], sent_at: float | None = None,
                lane: str | None = None) -> Iterator[None]:
        """Marks a message's jobs started for the duration of the ``with`` block; ``sent_at``
        (when the dispatcher sent the message) measures the wait of the message's ``lane``
        (:func:`worker.pickup.lane_name`; the step's own by default)."""
        ids = list(job_ids)
        self.waits.started(lane or step, sent_at)
        with self._lock:
            for job_id in ids:
                self._since[(step, job_id)] = self.clock()
        self._touch(step, [(job_id, "") for job_id in ids])
        try:
            yield
        finally:
            with self._lock:
                for job_id in ids:
                    self._due[step].pop(job_id, None)
                    self._since.pop((step, job_id), None)

    def taken(self, step: str, job_ids: Sequence[str], until: float | None) -> list[str]:
        """A message's jobs reached this worker: those still claimed by the dispatch that
        sent it (due at exactly ``until``) become due one lease from now, when that is
        sooner. Not renewed: a job still waiting behind a slow one then is simply sent
        again (another worker takes it; this message skips it), and if this worker dies,
        its jobs come back a lease after it took them, not at the end of a widened pickup
        window. Returns the ids moved."""
        new = self.clock() + self.lease_s
        if until is None or not job_ids or new >= until:
            return []
        score = f"{until:.6f}"
        return self.store.touch_due(step, self.providers, [(j, score) for j in job_ids], new)

    @contextmanager
    def holding(self, fence: LeaseFence) -> Iterator[LeaseFence]:
        """Keeps a step's record lease (its fence) renewed for the ``with`` block."""
        with self._lock:
            self._fences[fence] = self.clock()
        try:
            yield fence
        finally:
            with self._lock:
                self._fences.pop(fence, None)

    def beat(self) -> None:
        """One round: every started job's due time and every held fence, moved on, and the
        queue waits measured since the last round published."""
        oldest = self.clock() - self.max_hold_s
        with self._lock:
            due = {step: [(job_id, score) for job_id, score in ids.items()
                          if self._since.get((step, job_id), oldest) > oldest]
                   for step, ids in self._due.items()}
            fences = [fence for fence, since in self._fences.items() if since > oldest]
        for step, expected in due.items():
            if expected:
                self._touch(step, expected)
        for fence in fences:
            if not fence.keep():
                with self._lock:
                    self._fences.pop(fence, None)
        self.waits.publish(self.store.redis)

    def start(self) -> None:
        """Starts the beating thread (a worker process; in-process tests beat by hand)."""
        self._thread = threading.Thread(target=self._run, name="jobfleet-heartbeat",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()

    def _touch(self, step: str, expected: list[tuple[str, str]]) -> None:
        until = self.clock() + self.lease_s
        kept = set(self.store.touch_due(step, self.providers, expected, until))
        score = f"{until:.6f}"
        with self._lock:
            current = self._due[step]
            for job_id, _ in expected:
                if job_id in kept:
                    current[job_id] = score
                else:
                    current.pop(job_id, None)  # rescheduled, claimed or ended: not ours now

    def _run(self) -> None:
        interval = self.lease_s / BEATS_PER_LEASE
        while not self._stopping.wait(interval):
            try:
                self.beat()
            except Exception:  # noqa: BLE001 - Redis may be restarting; beat again soon
                log.warning("heartbeat failed; retrying", exc_info=True)
