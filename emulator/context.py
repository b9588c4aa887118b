"""What the emulator's core shares with one emulated platform: a :class:`ProviderContext`.

Its settings, the shared job clock, its job table and index, file store, URL signer and
stats, and the one place a job is recorded (:meth:`ProviderContext.create_job`), which puts
the job down to the credential of the request being handled (``CURRENT_CREDENTIAL``, set by
the edge middleware in :mod:`emulator.faults`).
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Hashable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from emulator.blobs import Blob, BlobStore, UrlSigner
from emulator.clock import JobClock, JobRecord, Plan
from emulator.credentials import ANONYMOUS
from emulator.index import JobIndex
from emulator.settings import ProviderSettings
from emulator.stats import ProviderStats, RateMeter

# The credential of the request being handled; aiohttp runs each request in its own task.
CURRENT_CREDENTIAL: ContextVar[str] = ContextVar("emulator_credential", default=ANONYMOUS)
# Set by a create whose job's override says `lose_answer`: the edge drops the answer like `drop`.
LOSE_ANSWER: ContextVar[bool] = ContextVar("emulator_lose_answer", default=False)


@dataclass
class ProviderContext:
    """Everything the core shares with one provider. Settings and stats may be swapped."""

    name: str
    defaults: ProviderSettings
    clock: JobClock
    rng: random.Random
    global_rate: RateMeter
    options: argparse.Namespace
    stats: ProviderStats
    settings: ProviderSettings = field(init=False)
    jobs: dict[str, JobRecord] = field(default_factory=dict)
    index: JobIndex = field(default_factory=JobIndex)
    blobs: BlobStore = field(default_factory=BlobStore)
    signer: UrlSigner = field(default_factory=UrlSigner)
    # Per-job overrides sent ahead through `POST /_emulator/plans`, by input key: for APIs
    # whose inputs have no free-form field to carry `_emulator` (OpenProtein's sequences).
    plans: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.settings = self.defaults

    @property
    def prefix(self) -> str:
        """URL path prefix of this provider, e.g. `/deeporigin`."""
        return f"/{self.name}"

    def create_job(
        self,
        remote_id: str,
        plan: Plan,
        *,
        awaiting_confirmation: bool,
        tag: str | None,
        payload_hash: str,
        data: Any,
        scope: Hashable = None,
        also: tuple[Hashable, ...] = (),
        tie: str | None = None,
    ) -> JobRecord:
        """Record a new remote job (its clock starts now unless it awaits a confirm).

        ``scope`` is who may list it (an org and project, an account, a team), for the index;
        ``also`` narrower scopes a list filters by, ordered within a millisecond by ``tie``.
        """
        now = self.clock.now()
        job = JobRecord(
            provider=self.name,
            remote_id=remote_id,
            created_at=now,
            plan=plan,
            clock_start=None if awaiting_confirmation else now,
            tag=tag,
            payload_hash=payload_hash,
            data=data,
        )
        self.jobs[remote_id] = job
        self.index.add(job, scope, also, tie)
        self.stats.count_creation(tag, payload_hash)
        self.stats.track_job(job, CURRENT_CREDENTIAL.get())
        if plan.lose_answer:
            LOSE_ANSWER.set(True)  # the edge drops this answer (see emulator.faults)
        return job

    def confirm(self, job: JobRecord, now: float) -> None:
        """Start a quoted job's clock (the caller checks it is still quoted)."""
        job.confirm(now)
        self.index.started(job)

    def cancel(self, job: JobRecord, now: float) -> bool:
        """Cancel unless already terminal; returns whether anything changed."""
        changed = job.cancel(now)
        if changed:
            self.index.cancelled(job)
        return changed

    def store_file(self, key: str, data: bytes, content_type: str) -> Blob:
        """Keep an uploaded file and record its SHA-256 in the stats."""
        blob = Blob.of(data, content_type, self.clock.now())
        self.blobs.put(key, blob)
        self.stats.count_file(key, blob.sha256, len(data))
        return blob

    def reset(self) -> None:
        """Forget jobs, files and counters (settings are kept)."""
        self.jobs.clear()
        self.index = JobIndex()
        self.blobs.clear()
        self.plans.clear()
        self.stats = ProviderStats(self.stats.created_label)
