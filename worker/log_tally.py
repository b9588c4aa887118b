"""One log line for events that may come thousands of times a second: a tally per kind.

Some waits happen to every job of a large batch: a create held back by the fleet's create
pace (at 200 creates/s, hundreds a second), a search for a lost create handed back to wait
for a shared walk. A line for each would drown the log, none at all hides why jobs wait. A
:class:`LogTally` logs the first event of a kind after a quiet spell as it happens, with its
details; further events of that kind within :data:`EVERY_S` are only counted, and when that
time is up one line says how many there were, how many seconds they added up to, and the
latest one's details. A burst costs one line per kind every ``EVERY_S``, a lone event one line.

The summary is written by a timer thread at the end of the interval, so the last events of a
burst are reported even when nothing follows them, and at the process's exit for any interval
still open.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

EVERY_S = 10.0  # at most one summary line per kind this often


@dataclass
class _Kind:
    began: float  # when the current interval began (monotonic)
    quiet_from: float  # when it ends: an event after it is logged at once
    count: int = 0  # events counted since the last line
    seconds: float = 0.0  # what they added up to
    latest: str = ""  # the last one's details
    flush_due: bool = False  # a summary is scheduled


def _later(delay: float, action: Callable[[], None]) -> None:
    timer = threading.Timer(delay, action)
    timer.daemon = True
    timer.start()


class LogTally:
    """Logs events by kind at INFO: the first at once, the rest summed per :data:`EVERY_S`.

    ``later(delay, action)`` runs ``action`` after ``delay`` seconds (a daemon timer thread
    by default); ``clock`` is monotonic. Both are seams for tests.
    """

    def __init__(self, log: logging.Logger, *, every_s: float = EVERY_S,
                 clock: Callable[[], float] = time.monotonic,
                 later: Callable[[float, Callable[[], None]], None] = _later) -> None:
        self.log = log
        self.every_s = every_s
        self.clock = clock
        self.later = later
        self._kinds: dict[str, _Kind] = {}
        self._lock = threading.Lock()
        atexit.register(self.flush_all)

    def event(self, kind: str, detail: str, seconds: float = 0.0) -> None:
        """One event of ``kind``, e.g. ``"deeporigin: creates that slept for the fleet's create
        pace"``; ``detail`` says what happened to this one (logged as given: no credential)."""
        now = self.clock()
        with self._lock:
            state = self._kinds.get(kind)
            if state is None or now >= state.quiet_from:
                self._kinds[kind] = _Kind(now, now + self.every_s)
                state = None
            else:
                state.count += 1
                state.seconds += seconds
                state.latest = detail
                flush_in = None if state.flush_due else max(state.quiet_from - now, 0.0)
                state.flush_due = True
        if state is None:
            self.log.info("%s: %s", kind, detail)
        elif flush_in is not None:
            self.later(flush_in, lambda: self.flush(kind))

    def flush(self, kind: str) -> None:
        """Writes the summary of ``kind``'s counted events, and opens a new interval."""
        with self._lock:
            state = self._kinds.get(kind)
            if state is None or not state.count:
                return
            now = self.clock()
            count, seconds, latest = state.count, state.seconds, state.latest
            elapsed = now - state.began
            self._kinds[kind] = _Kind(now, now + self.every_s)
        added = f", {seconds:.1f}s in all" if seconds else ""
        self.log.info("%s: %d more in the last %.0fs%s; the latest: %s",
                      kind, count, elapsed, added, latest)

    def flush_all(self) -> None:
        """Writes every kind's summary now (at exit: the timers are daemon threads)."""
        with self._lock:
            kinds = list(self._kinds)
        for kind in kinds:
            self.flush(kind)
