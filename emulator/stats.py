"""Counters behind `GET /_emulator/stats`.

The point of the stats is to let tests and benchmarks check the *server's* side of a story
that the client tells: how many jobs were really created (so retried POSTs show up as
duplicates per client tag or per payload hash), which faults were injected, which files arrived
intact (SHA-256), and how hard the server was pushed (peak requests per second).

Everything is plain counters updated on the event loop thread, so no locks are needed.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

FAULT_KINDS = ("5xx", "429", "drop", "slow", "garbage")


class RateMeter:
    """Counts hits per wall-clock second and remembers the busiest second seen."""

    __slots__ = ("_second", "_count", "_peak")

    def __init__(self) -> None:
        self._second = -1
        self._count = 0
        self._peak = 0

    def hit(self, now: float) -> None:
        """Record one request at time `now` (epoch seconds)."""
        second = int(now)
        if second != self._second:
            self._peak = max(self._peak, self._count)
            self._second, self._count = second, 0
        self._count += 1

    @property
    def peak(self) -> int:
        """Most requests seen in one aligned second, including the current one."""
        return max(self._peak, self._count)


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

    def count_request(self, endpoint: str, now: float) -> None:
        """One request arrived for `endpoint` (a stable label such as `GET /x/{id}`)."""
        self.by_endpoint[endpoint] += 1
        self.rate.hit(now)

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

    def count_file(self, key: str, sha256: str, size: int) -> None:
        """A file was stored under `key` (the latest content wins in the listing)."""
        self.files_stored += 1
        self.files[key] = {"sha256": sha256, "size": size}

    def snapshot(self, jobs_by_status: dict[str, int], *, brief: bool = False) -> dict[str, Any]:
        """JSON view; `brief` drops the per-tag, per-payload and per-file maps (they grow)."""
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
            "jobs_by_status": jobs_by_status,
        }
        if not brief:
            data["creations_by_tag"] = dict(self.by_tag)
            data["creations_by_payload"] = dict(self.by_payload)
            data["files"] = dict(self.files)
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
        "faults": dict(faults),
        "peak_rps": global_rate.peak,
    }
