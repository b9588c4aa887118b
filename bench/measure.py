"""What the benchmarks measure, taken from outside the system under test.

Worker processes are read through ``psutil`` (RSS, CPU time), Redis through ``INFO memory``,
the platform through the emulator: its per-credential stats count every request we sent, and
its record of each remote job says when it *really* ended and how. Nothing here asks the
fleet about itself except for its terminal records, so the same code measures jobfleet and
the naive baseline alike.
"""

from __future__ import annotations

import contextlib
import math
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import redis

from emulator.control import EmulatorControl, EmulatorError
from emulator.credentials import credential_label
from emulator.tokens import decode_jwt

MB = 1024 * 1024
# Endpoint labels (as the emulator's stats name them) that are not status reads.
NOT_STATUS = ("POST ", "PATCH ", "PUT ", "DELETE ", "/clusters", "/files", "storage",
              "(unmatched)")


@contextlib.contextmanager
def run_dir(keep: str | None, prefix: str) -> Iterator[Path]:
    """The folder for one run's logs and data: ``keep`` (``--keep-logs``), left in place, or
    a temporary one removed when the run ends."""
    path = Path(keep or tempfile.mkdtemp(prefix=prefix)).resolve()
    try:
        yield path
    finally:
        if not keep:
            shutil.rmtree(path, ignore_errors=True)


def percentile(values: Sequence[float], p: float) -> float | None:
    """The ``p``-th percentile (nearest rank), or None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def ratio(ours: float | None, theirs: float | None) -> float | None:
    """``ours / theirs`` rounded, or None when either is missing or the divisor is 0."""
    if ours is None or not theirs:
        return None
    return round(ours / theirs, 3)


def redis_used_bytes(url: str) -> int:
    """``used_memory`` of the Redis at ``url``."""
    client = redis.Redis.from_url(url, socket_timeout=10)
    try:
        return int(client.info("memory")["used_memory"])
    finally:
        client.close()


def cpu_seconds(pids: Iterable[int]) -> float:
    """User + system CPU seconds used so far by these processes (and their children)."""
    total = 0.0
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            times = proc.cpu_times()
            total += times.user + times.system + times.children_user + times.children_system
        except psutil.Error:
            continue
    return total


def rss_bytes(pid: int) -> int:
    """Resident memory of one process, 0 if it is gone."""
    try:
        return psutil.Process(pid).memory_info().rss
    except psutil.Error:
        return 0


@dataclass
class Sample:
    """One look at the system: seconds since start, RSS per worker, Redis bytes, jobs alive."""

    t: float
    rss: list[int]
    redis_bytes: int
    in_flight: int


@dataclass
class Sampler:
    """Samples worker RSS, Redis memory and jobs in flight every ``every_s`` on a thread."""

    pids: Sequence[int]
    redis_url: str
    in_flight: Callable[[], int]
    every_s: float = 0.5
    samples: list[Sample] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _t0: float = field(default_factory=time.monotonic)

    def start(self) -> Sampler:
        self._t0 = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="bench-sampler", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            self.take()
            self._stop.wait(self.every_s)

    def take(self) -> Sample | None:
        try:
            sample = Sample(round(time.monotonic() - self._t0, 2),
                            [rss_bytes(pid) for pid in self.pids],
                            redis_used_bytes(self.redis_url), self.in_flight())
        except Exception:  # noqa: BLE001 - a busy Redis: skip this look, keep sampling
            return None
        self.samples.append(sample)
        return sample

    def stop(self) -> list[Sample]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
        return self.samples

    def peak_rss(self) -> int:
        return max((max(s.rss, default=0) for s in self.samples), default=0)

    def bytes_per_job_in_flight(self, base_bytes: int) -> float | None:
        """Redis bytes above ``base_bytes`` per job in flight, at the most jobs in flight
        (the latest such sample: jobs exist remotely by then, not only as messages)."""
        best = max(self.samples, key=lambda s: (s.in_flight, s.t), default=None)
        if best is None or best.in_flight == 0:
            return None
        return (best.redis_bytes - base_bytes) / best.in_flight


def do_credential(token: str) -> str:
    """The emulator's stats label for a Deep Origin bearer token (a JWT counts as its ``sub``)."""
    return credential_label("user", decode_jwt(token)["sub"])


def request_figures(provider_stats: Mapping[str, Any], credential: str) -> dict[str, Any]:
    """Requests of one run from the emulator's stats (reset before the run)."""
    by_endpoint = provider_stats["requests_by_endpoint"]
    status = sum(n for label, n in by_endpoint.items()
                 if not any(mark in label for mark in NOT_STATUS))
    return {
        "requests": provider_stats["requests_by_credential"].get(credential, 0),
        "status_requests": status,
        "busiest_second": provider_stats["max_requests_in_any_1s_window"].get(credential, 0),
        "peak_running": provider_stats["peak_running_by_credential"].get(credential, 0),
        "requests_by_endpoint": by_endpoint,
    }


def emulator_jobs(root_url: str, provider: str, remote_ids: Iterable[str],
                  threads: int = 8) -> dict[str, dict[str, Any] | None]:
    """Remote id → the emulator's record of that job (decided outcome, when it ended)."""
    local = threading.local()

    def one(remote_id: str) -> tuple[str, dict[str, Any] | None]:
        control = getattr(local, "control", None)
        if control is None:
            control = local.control = EmulatorControl(root_url)
        try:
            return remote_id, control.job(provider, remote_id)
        except EmulatorError:
            return remote_id, None

    with ThreadPoolExecutor(threads) as pool:
        return dict(pool.map(one, list(remote_ids)))
