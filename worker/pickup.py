"""The pickup window: how long a dispatched message may wait before its jobs are sent again.

A dispatcher's claim pushes each job's due time to the end of the pickup window; a job no
worker has started by then (its message lost with a killed worker, or to a Redis restart)
is dispatched again. The window must be longer than the queue's real wait, or work that is
merely queued is sent again, which adds load exactly when there is too much; and it should
be short, so a dead worker's work comes back quickly. So it follows the measured wait:

* **measured** by the workers: every message carries the time it was sent; when a worker
  starts a job's step it notes how long ago that was (the queue's wait plus the jobs ahead
  of it in its message). :class:`QueueWaits` keeps each lane's longest wait (a step's, or
  its new jobs' lane: see "Lanes" below), and the heartbeat thread publishes it once per
  beat: one hash field per worker process, ``jf:pickup:{lane}`` → ``"{wait} {when}"``.
* **applied** by the dispatchers: :class:`PickupWindow` reads those fields (at most every
  :data:`REFRESH_S`) and sets each lane's window with :func:`window_s`: :data:`HEADROOM`
  times the longest wait still remembered, never below ``JOBFLEET_PICKUP_S`` (the floor)
  nor above ``JOBFLEET_PICKUP_MAX_S``. A wait is remembered for :data:`MEMORY_S`, fading
  linearly, so a slow queue widens the window at once and a fast one narrows it back to
  the floor within that time. A process that stops publishing (it died) fades the same
  way, and its field is deleted once forgotten.

Lanes. Each step's queue has two lanes (:mod:`worker.broker`): messages of work already
started are taken before any message of jobs not yet started. Their waits differ by the
whole backlog: a started job's message waits for a free worker thread, a new job's for
every message ahead of it, and under a backlog of new jobs that is the longer by far. So
each lane has its own waits and its own window (:func:`lane_name`: ``submit`` and
``submit:unstarted``, each its own hash). One window for both would follow the new jobs'
slow waits, and a started job whose message was lost (a killed worker's prefetch, a Redis
restart) would come back only at the end of a window widened by a queue it never waited
in; it comes back at the end of its own lane's, which stays near the floor while started
work is quick. The new jobs' window follows their own waits, so a new job merely queued
behind the backlog is not sent again: sent again it would be started work, and its second
message would overtake the backlog and the first would be wasted. A worker tells the lanes
apart by the priority its message was delivered with.

Clocks: the send time and the start time are wall-clock times of two processes, as the
leases already are; machines of one fleet are expected to keep their clocks in step (NTP).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping

import redis

from worker import keys
from worker.keys import FIRST_STEP
from worker.record import STEPS

log = logging.getLogger("jobfleet.pickup")

HEADROOM = 1.5  # the window is this many times the longest recent wait: a message half as
# slow again as the slowest seen is still not sent twice
MEMORY_S = 30.0  # a measured wait counts for this long, fading linearly to nothing
REFRESH_S = 1.0  # a dispatcher reads the published waits at most this often
LOG_CHANGE = 1.25  # a window that moved by this factor since last logged is logged again


def recent_wait(waits: Iterable[tuple[float, float]], now: float) -> float:
    """The longest of ``(wait, measured at)`` pairs, each at full weight when just measured
    and fading linearly to nothing over :data:`MEMORY_S`."""
    longest = 0.0
    for wait, at in waits:
        age = max(now - at, 0.0)
        longest = max(longest, wait * max(0.0, 1.0 - age / MEMORY_S))
    return longest


def window_s(wait: float, floor_s: float, cap_s: float) -> float:
    """The pickup window for a step whose recent wait is ``wait``: :data:`HEADROOM` times
    it, within ``[floor_s, cap_s]``."""
    return min(max(HEADROOM * wait, floor_s), max(cap_s, floor_s))


def lane_name(step: str, unstarted: bool = False) -> str:
    """The name a lane's waits and window go by: the step's own for started work."""
    return f"{step}:unstarted" if unstarted else step


LANE_NAMES = (*STEPS, lane_name(FIRST_STEP, True))  # every lane a message can be sent in


def process_id() -> str:
    """This process, as a field name: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


class QueueWaits:
    """A worker process's longest queue wait per lane since it last published (thread-safe)."""

    def __init__(self, clock: Callable[[], float] = time.time, name: str | None = None) -> None:
        self.clock = clock
        self.name = name or process_id()
        self._lock = threading.Lock()
        self._longest: dict[str, float] = {}
        self._published: dict[str, tuple[float, float]] = {}  # lane → (wait, when) written

    def started(self, lane: str, sent_at: float | None) -> None:
        """A job whose message, of ``lane``, was sent at ``sent_at`` starts now."""
        if sent_at is None:
            return  # a message from an older sender: nothing to measure
        wait = max(self.clock() - sent_at, 0.0)
        with self._lock:
            self._longest[lane] = max(self._longest.get(lane, 0.0), wait)

    def publish(self, client: redis.Redis) -> None:
        """Writes each lane's longest wait since the last call (one pipeline), then forgets
        them. A lane whose earlier published wait, faded, is still the longer keeps that one
        (so one quick start does not erase a slow queue at once); nothing is written when
        no job started."""
        with self._lock:
            longest, self._longest = self._longest, {}
        now = self.clock()
        fresh = {step: wait for step, wait in longest.items()
                 if wait >= recent_wait([self._published.get(step, (0.0, now))], now)}
        if not fresh:
            return
        pipe = client.pipeline(transaction=False)
        for step, wait in fresh.items():
            pipe.hset(keys.pickup_key(step), self.name, f"{wait:.3f} {now:.3f}")
        pipe.execute()
        self._published.update((step, (wait, now)) for step, wait in fresh.items())


class PickupWindow:
    """A dispatcher's pickup window per lane, from the waits the workers publish."""

    def __init__(self, client: redis.Redis, steps: Iterable[str], *, floor_s: float,
                 cap_s: float, clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self.steps = tuple(steps)
        self.floor_s = floor_s
        self.cap_s = cap_s
        self.clock = clock
        self._windows = dict.fromkeys(self.steps, floor_s)
        self._waits = dict.fromkeys(self.steps, 0.0)
        self._logged = dict(self._windows)
        self._read_at = float("-inf")

    def __call__(self, lane: str) -> float:
        """The current window of ``lane`` in seconds (re-read at most every REFRESH_S)."""
        if self.clock() - self._read_at >= REFRESH_S:
            self.refresh()
        return self._windows.get(lane, self.floor_s)

    def refresh(self) -> Mapping[str, float]:
        """Reads the published waits, drops forgotten ones, and recomputes every window."""
        now = self._read_at = self.clock()
        pipe = self.client.pipeline(transaction=False)
        for step in self.steps:
            pipe.hgetall(keys.pickup_key(step))
        stale: list[tuple[str, str]] = []
        for step, fields in zip(self.steps, pipe.execute(), strict=True):
            waits = []
            for name, value in fields.items():
                wait, at = _parse(value)
                if now - at > MEMORY_S:
                    stale.append((step, name))
                else:
                    waits.append((wait, at))
            self._waits[step] = recent_wait(waits, now)
            self._windows[step] = window_s(self._waits[step], self.floor_s, self.cap_s)
            self._log_change(step)
        for step, name in stale:
            self.client.hdel(keys.pickup_key(step), name)
        return dict(self._windows)

    def _log_change(self, step: str) -> None:
        new, old = self._windows[step], self._logged[step]
        if max(new, old) >= LOG_CHANGE * min(new, old):
            wait = self._waits[step]
            log.info("pickup window for %s now %.1fs (recent queue wait %.1fs)",
                     step, new, wait)
            self._logged[step] = new


def _parse(value: str | bytes) -> tuple[float, float]:
    """``"{wait} {when}"`` → (wait, when); anything unreadable counts as long forgotten."""
    try:
        text = value.decode() if isinstance(value, bytes) else value
        wait, at = text.split()
        return float(wait), float(at)
    except (ValueError, UnicodeDecodeError):
        return 0.0, float("-inf")
