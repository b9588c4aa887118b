"""Counters and histograms produced by workers, summed in Redis for Flower's ``/metrics``.

Workers run in many processes (on many machines); Prometheus scrapes one target, Flower. So
each process adds its observations to an in-memory buffer, and a background thread folds the
buffer into one Redis hash (:data:`METRICS`) every :data:`FLUSH_INTERVAL_S` seconds with
one pipelined round trip: the cost per HTTP request or step is a dict update, never a Redis
call. A process killed between flushes loses at most that interval's counts, which is the
usual bargain for metrics.

The catalogue below is the one home of every worker-produced series: its name, type, help
text, labels and buckets. :mod:`monitor.metrics` reads the hash back through it.

Hash fields are ``name|label=value,label=value`` (label values are our own short words:
platform names, steps, status classes); histograms keep ``name_bucket|...,le=X`` (cumulative),
``name_sum|...`` and ``name_count|...`` like the exposition format does.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

import redis

from worker.keys import METRICS

log = logging.getLogger("jobfleet.telemetry")

FLUSH_INTERVAL_S = 2.0  # how stale a scrape may be; also the most a killed worker loses
STEP_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)  # one step's work for one job
SWEEP_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)  # one walk over list pages
DELAY_BUCKETS = (0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900)  # seconds a finished job went unseen


@dataclass(frozen=True)
class Metric:
    """One worker-produced series family, as Prometheus will see it."""

    name: str
    kind: str  # "counter" or "histogram"
    help: str
    labels: tuple[str, ...]
    buckets: tuple[float, ...] = ()


CATALOGUE = {m.name: m for m in (
    Metric("jobfleet_platform_responses_total", "counter",
           "HTTP answers from each platform by status class (2xx, 4xx, 429, 5xx; 'error' = "
           "no answer)", ("platform", "code")),
    Metric("jobfleet_throttle_waits_total", "counter",
           "Requests our own fleet-wide limiter held back (slept, or handed back as a step)",
           ("platform", "outcome")),
    Metric("jobfleet_throttle_wait_seconds_total", "counter",
           "Seconds requests slept in our own fleet-wide limiter", ("platform",)),
    Metric("jobfleet_uploads_total", "counter",
           "Results uploaded as files: new bytes, or bytes the platform already held",
           ("platform", "outcome")),
    Metric("jobfleet_step_duration_seconds", "histogram",
           "Wall time of one step (submit, poll, finalize) for one job in a worker",
           ("step",), STEP_BUCKETS),
    Metric("jobfleet_sweep_duration_seconds", "histogram",
           "Wall time of one status sweep: a walk over a platform's list pages",
           ("platform",), SWEEP_BUCKETS),
    Metric("jobfleet_detection_delay_seconds", "histogram",
           "From the platform's own end time of a remote job to our poll that saw it ended",
           ("platform",), DELAY_BUCKETS),
)}


def status_class(status: int | None) -> str:
    """The label for an HTTP status: 429 apart from the other 4xx; None is no answer."""
    if status is None:
        return "error"
    if status == 429:
        return "429"
    return f"{status // 100}xx"


def _field(name: str, labels: dict[str, str]) -> str:
    return name + "|" + ",".join(f"{k}={_clean(v)}" for k, v in labels.items())


def _clean(value: object) -> str:
    return str(value).replace("|", "_").replace(",", "_").replace("=", "_")


class Recorder:
    """A process's buffer of metric increments, flushed to Redis in the background."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[str, float] = defaultdict(float)
        self._client: redis.Redis | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        os.register_at_fork(after_in_child=self._forked)

    def _forked(self) -> None:
        """A forked pool process starts empty (the parent flushes its own) and unattached."""
        self._lock = threading.Lock()
        self._pending = defaultdict(float)
        self._thread = None

    def attach(self, client: redis.Redis) -> None:
        """Starts flushing to ``client``'s Redis; observations before this are kept."""
        with self._lock:
            self._client = client
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="jobfleet-telemetry",
                                                daemon=True)
                self._thread.start()
                atexit.register(self.flush)

    def count(self, name: str, value: float = 1.0, **labels: str) -> None:
        """Adds ``value`` to counter ``name`` with ``labels`` (names from the catalogue)."""
        with self._lock:
            self._pending[_field(name, labels)] += value

    def observe(self, name: str, value: float, **labels: str) -> None:
        """Records one observation of histogram ``name``."""
        metric = CATALOGUE[name]
        with self._lock:
            for bound in metric.buckets:
                if value <= bound:
                    self._pending[_field(f"{name}_bucket", {**labels, "le": bound})] += 1
            self._pending[_field(f"{name}_bucket", {**labels, "le": "+Inf"})] += 1
            self._pending[_field(f"{name}_sum", labels)] += value
            self._pending[_field(f"{name}_count", labels)] += 1

    def flush(self) -> None:
        """Folds the buffer into Redis in one round trip; kept for next time if Redis fails."""
        with self._lock:
            pending, self._pending = self._pending, defaultdict(float)
            client = self._client
        if not pending or client is None:
            self._merge(pending)
            return
        pipe = client.pipeline(transaction=False)
        for field, value in pending.items():
            pipe.hincrbyfloat(METRICS, field, value)
        try:
            pipe.execute()
        except redis.RedisError:
            self._merge(pending)  # Redis restarting: try again at the next flush
            log.info("metrics flush failed; kept for the next one")

    def stop(self) -> None:
        self._stop.set()
        self.flush()

    def _merge(self, pending: dict[str, float]) -> None:
        with self._lock:
            for field, value in pending.items():
                self._pending[field] += value

    def _run(self) -> None:
        while not self._stop.wait(FLUSH_INTERVAL_S):
            self.flush()


recorder = Recorder()  # the process's one buffer


_END_FIELDS = ("completedAt", "finishedAt", "failedAt", "cancelledAt", "end_date")  # platforms'


def remote_end_time(record: object) -> float | None:
    """When the platform says a remote job ended (epoch seconds), if its record tells.

    Deep Origin and Moderately AI use ``completedAt``/``failedAt``/``cancelledAt`` (ISO 8601),
    OpenProtein ``end_date``; the detection delay is measured from there.
    """
    if not isinstance(record, dict):
        return None
    for name in _END_FIELDS:
        value = record.get(name)
        if isinstance(value, str) and value:
            try:
                when = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                continue
            return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()
    return None
