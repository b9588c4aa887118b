"""Counters behind `GET /_emulator/stats`.

The point of the stats is to let tests and benchmarks check the *server's* side of a story
that the client tells: how many jobs were really created (so retried POSTs show up as
duplicates per client tag or per payload hash), which faults were injected, which files arrived
intact (SHA-256) — and whether the same bytes were stored as two files (`duplicate_uploads`)
or merely sent twice to the same file, as a retried PUT does (`repeated_uploads`) —, and how
hard the server was pushed —
overall and per platform credential (peak requests per second, the most requests in any
one-second window, the most jobs queued or running at once).

A *credential* is the identity a request authenticates as, shown only as a short hash
(`cred-<12 hex>`, see `emulator.credentials`): a rate-limit check needs to tell callers
apart, never to see their secrets. Requests without credentials (health checks, presigned
storage URLs, logins) count under `anonymous`.

Everything is plain counters updated on the event loop thread, so no locks are needed.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from emulator.credentials import ANONYMOUS

if TYPE_CHECKING:
    from emulator.clock import JobRecord

FAULT_KINDS = ("5xx", "429", "drop", "slow", "garbage")


class RateMeter:
    """Counts hits per wall-clock second and remembers the busiest second seen.

    `histogram` maps a per-second request count to how many (non-empty) seconds had it.
    """

    __slots__ = ("_second", "_count", "_peak", "_histogram")

    def __init__(self) -> None:
        self._second = -1
        self._count = 0
        self._peak = 0
        self._histogram: Counter[int] = Counter()

    def hit(self, now: float) -> None:
        """Record one request at time `now` (epoch seconds)."""
        second = int(now)
        if second != self._second:
            if self._count:
                self._histogram[self._count] += 1
            self._peak = max(self._peak, self._count)
            self._second, self._count = second, 0
        self._count += 1

    @property
    def peak(self) -> int:
        """Most requests seen in one aligned second, including the current one."""
        return max(self._peak, self._count)

    @property
    def histogram(self) -> dict[int, int]:
        """`{requests in a second: seconds}` over every second that saw a request."""
        hist = Counter(self._histogram)
        if self._count:
            hist[self._count] += 1
        return dict(sorted(hist.items()))


class SlidingWindow:
    """The most hits in any window `(t - width_s, t]`, over every `t`, not just whole seconds.

    The busiest window of a given width always ends at a hit, so keeping the hits of the last
    `width_s` and measuring at each new hit is exact; memory is the hits of one window.
    Hits are expected in time order (the emulator's clock); a late one counts at its own time.
    """

    __slots__ = ("width_s", "_times", "peak")

    def __init__(self, width_s: float = 1.0) -> None:
        self.width_s = width_s
        self._times: deque[float] = deque()
        self.peak = 0

    def hit(self, now: float) -> None:
        """Record one hit at `now`."""
        times = self._times
        times.append(now)
        cutoff = now - self.width_s
        while times[0] <= cutoff:
            times.popleft()
        if len(times) > self.peak:
            self.peak = len(times)


def max_in_any_window(times: Iterable[float], width_s: float = 1.0) -> int:
    """The most of `times` inside any half-open window of `width_s` (what `SlidingWindow` keeps)."""
    window = SlidingWindow(width_s)
    for t in sorted(times):
        window.hit(t)
    return window.peak


class CredentialMeter:
    """Requests of one credential: total, busiest aligned second, busiest 1 s window."""

    __slots__ = ("requests", "rate", "window")

    def __init__(self) -> None:
        self.requests = 0
        self.rate = RateMeter()
        self.window = SlidingWindow(1.0)

    def hit(self, now: float) -> None:
        self.requests += 1
        self.rate.hit(now)
        self.window.hit(now)


def job_interval(job: JobRecord) -> tuple[float, float] | None:
    """When a job was queued or running on the platform: `(clock start, end)`, or None.

    A quote not (yet) confirmed never ran; a cancelled job ends at its cancel.
    """
    start = job.clock_start
    if start is None:
        return None
    end = job.cancelled_at
    if end is None:
        end = start + job.plan.queue_s + job.plan.duration_s
    return (start, end) if end > start else None


def peak_concurrency(intervals: Iterable[tuple[float, float]]) -> int:
    """The most intervals `[start, end)` open at one instant (one ending as another starts: 1)."""
    events: list[tuple[float, int]] = []
    for start, end in intervals:
        events.append((start, 1))
        events.append((end, -1))
    events.sort()  # at equal times -1 sorts first: an end frees its slot before a start takes it
    open_now = peak = 0
    for _, step in events:
        open_now += step
        peak = max(peak, open_now)
    return peak


class ProviderStats:
    """Counters for one provider. `created_label` names the creation counter in its own terms.

    For example Deep Origin reports `executions_created` alongside the generic `jobs_created`.
    """

    def __init__(self, created_label: str = "jobs_created") -> None:
        self.created_label = created_label
        self.rate = RateMeter()
        self.by_endpoint: Counter[str] = Counter()
        self.by_status: Counter[str] = Counter()
        self.faults: Counter[str] = Counter({kind: 0 for kind in FAULT_KINDS})
        self.jobs_created = 0
        self.by_tag: Counter[str] = Counter()
        self.by_payload: Counter[str] = Counter()
        self.files: dict[str, dict[str, Any]] = {}
        self.files_stored = 0
        self.by_sha256: Counter[str] = Counter()  # bytes arrived (every store, re-sends too)
        self.keys_by_sha256: dict[str, set[str]] = {}  # distinct stored files holding them
        self.by_credential: dict[str, CredentialMeter] = {}
        # (credential, job) per created job: the job clock gives when each one ran, on demand.
        self.job_credentials: list[tuple[str, JobRecord]] = []

    def count_request(self, endpoint: str, now: float, credential: str = ANONYMOUS) -> None:
        """One request arrived for `endpoint` (a stable label such as `GET /x/{id}`)."""
        self.by_endpoint[endpoint] += 1
        self.rate.hit(now)
        meter = self.by_credential.get(credential)
        if meter is None:
            meter = self.by_credential[credential] = CredentialMeter()
        meter.hit(now)

    def count_response(self, status: int | str) -> None:
        """One response left with `status` (or `"dropped"` when the connection was cut)."""
        self.by_status[str(status)] += 1

    def count_fault(self, kind: str) -> None:
        """One fault of `kind` (see FAULT_KINDS) was injected."""
        self.faults[kind] += 1

    def count_creation(self, tag: str | None, payload_hash: str) -> None:
        """A remote job was created; tag is the client's own label (e.g. a session id)."""
        self.jobs_created += 1
        if tag is not None:
            self.by_tag[tag] += 1
        self.by_payload[payload_hash] += 1

    def track_job(self, job: JobRecord, credential: str = ANONYMOUS) -> None:
        """Remember which credential created `job`, for the peak of jobs running at once."""
        self.job_credentials.append((credential, job))

    def count_file(self, key: str, sha256: str, size: int) -> None:
        """A file was stored under `key` (the latest content wins in the listing)."""
        self.files_stored += 1
        previous = self.files.get(key)
        if previous is not None and previous["sha256"] != sha256:
            self.keys_by_sha256[previous["sha256"]].discard(key)
        self.files[key] = {"sha256": sha256, "size": size}
        self.by_sha256[sha256] += 1
        self.keys_by_sha256.setdefault(sha256, set()).add(key)

    def peak_running_by_credential(self) -> dict[str, int]:
        """Most jobs queued or running at one instant, per creating credential (a full sweep)."""
        intervals: dict[str, list[tuple[float, float]]] = {}
        for credential, job in self.job_credentials:
            interval = job_interval(job)
            if interval is not None:
                intervals.setdefault(credential, []).append(interval)
        return {cred: peak_concurrency(spans) for cred, spans in sorted(intervals.items())}

    def snapshot(self, jobs_by_status: dict[str, int], *, brief: bool = False) -> dict[str, Any]:
        """JSON view; `brief` drops the per-tag, per-payload and per-file maps (they grow)."""
        meters = sorted(self.by_credential.items())
        data: dict[str, Any] = {
            "requests": sum(self.by_endpoint.values()),
            "requests_by_endpoint": dict(sorted(self.by_endpoint.items())),
            "responses_by_status": dict(sorted(self.by_status.items())),
            "peak_rps": self.rate.peak,
            "faults": dict(self.faults),
            "jobs_created": self.jobs_created,
            self.created_label: self.jobs_created,
            "duplicate_tags": sum(1 for n in self.by_tag.values() if n > 1),
            "duplicate_payloads": sum(1 for n in self.by_payload.values() if n > 1),
            "files_stored": self.files_stored,
            "duplicate_uploads": sum(1 for keys in self.keys_by_sha256.values() if len(keys) > 1),
            "repeated_uploads": sum(1 for n in self.by_sha256.values() if n > 1),
            "jobs_by_status": jobs_by_status,
            "requests_by_credential": {cred: m.requests for cred, m in meters},
            "peak_rps_by_credential": {cred: m.rate.peak for cred, m in meters},
            "max_requests_in_any_1s_window": {cred: m.window.peak for cred, m in meters},
            "peak_running_by_credential": self.peak_running_by_credential(),
        }
        if not brief:
            data["rps_histogram_by_credential"] = {cred: m.rate.histogram for cred, m in meters}
            data["creations_by_tag"] = dict(self.by_tag)
            data["creations_by_payload"] = dict(self.by_payload)
            data["files"] = dict(self.files)
            data["files_by_sha256"] = {
                sha: len(keys) for sha, keys in self.keys_by_sha256.items() if keys}
            data["uploads_by_sha256"] = dict(self.by_sha256)
        return data


def totals(per_provider: dict[str, dict[str, Any]], global_rate: RateMeter) -> dict[str, Any]:
    """Sum the provider snapshots into one `totals` object."""
    faults: Counter[str] = Counter({kind: 0 for kind in FAULT_KINDS})
    for snap in per_provider.values():
        faults.update(snap["faults"])
    return {
        "requests": sum(s["requests"] for s in per_provider.values()),
        "jobs_created": sum(s["jobs_created"] for s in per_provider.values()),
        "jobs": sum(sum(s["jobs_by_status"].values()) for s in per_provider.values()),
        "duplicate_tags": sum(s["duplicate_tags"] for s in per_provider.values()),
        "duplicate_payloads": sum(s["duplicate_payloads"] for s in per_provider.values()),
        "files_stored": sum(s["files_stored"] for s in per_provider.values()),
        "duplicate_uploads": sum(s.get("duplicate_uploads", 0) for s in per_provider.values()),
        "repeated_uploads": sum(s.get("repeated_uploads", 0) for s in per_provider.values()),
        "faults": dict(faults),
        "peak_rps": global_rate.peak,
    }
