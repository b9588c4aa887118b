"""The seam between the shared core and one emulated platform.

A provider is one package `emulator/<name>/` exposing `PROVIDER`, a `Provider` subclass. The
core gives each provider a `ProviderContext` (its settings, the shared job clock, its job
table, file store, URL signer and stats) and mounts the provider's routes under `/<name>`,
behind the fault-injecting edge middleware. The provider only speaks its wire
format; it never deals with faults, latency, counting requests or the control endpoints.

Providers are discovered: every package under `emulator/` that exposes `PROVIDER` is served,
so adding a platform's emulator touches nothing outside its package.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import pkgutil
import random
from collections import Counter
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from aiohttp import web

from emulator.blobs import Blob, BlobStore, UrlSigner
from emulator.clock import JobClock, JobRecord, Plan, parse_override
from emulator.faults import CURRENT_CREDENTIAL, edge_middleware
from emulator.index import JobIndex
from emulator.settings import ProviderSettings
from emulator.stats import ProviderStats, RateMeter

# Uploads are held in memory; large enough for realistic inputs, small enough to stay sane.
MAX_BODY_BYTES = 256 * 1024 * 1024


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
    ) -> JobRecord:
        """Record a new remote job (its clock starts now unless it awaits a confirm).

        ``scope`` is who may list it (an org and project, an account, a team), for the index.
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
        self.index.add(job, scope)
        self.stats.count_creation(tag, payload_hash)
        self.stats.track_job(job, CURRENT_CREDENTIAL.get())
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


class Provider:
    """Base class for one emulated platform; subclasses set `name` and implement `routes`."""

    name: ClassVar[str]
    created_label: ClassVar[str] = "jobs_created"

    def __init__(self, ctx: ProviderContext) -> None:
        self.ctx = ctx

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """Add provider-specific CLI flags (prefix them with the provider, e.g. `--do-`)."""

    def routes(self) -> list[web.RouteDef]:
        """Routes relative to the provider prefix, in match order."""
        raise NotImplementedError

    def status_of(self, job: JobRecord, now: float) -> str:
        """The provider's own status string for a job; used by stats and `/_emulator/jobs`."""
        return job.phase(now)

    def describe_job(self, job: JobRecord, now: float) -> dict[str, Any]:
        """The control view of one job: the record, its decided outcome, its wire status."""
        return {**job.to_json(now), "status": self.status_of(job, now)}

    def jobs_by_status(self, now: float) -> dict[str, int]:
        """How many jobs are in each wire status right now (a full scan; fine for 100k)."""
        return dict(Counter(self.status_of(job, now) for job in self.ctx.jobs.values()))

    def check_override(self, raw: Any) -> None:
        """Raises ``OverrideError`` unless ``raw`` is an ``_emulator`` override this
        platform reads; a platform with keys of its own extends it."""
        parse_override(raw)

    def reset(self) -> None:
        """Forget jobs, files and counters; extend to clear provider-specific state too."""
        self.ctx.reset()

    def build_app(self) -> web.Application:
        """The provider's sub-application: edge middleware first, then the routes."""
        app = web.Application(
            middlewares=[edge_middleware(self.ctx)], client_max_size=MAX_BODY_BYTES
        )
        app.add_routes(self.routes())
        return app


def discover_providers() -> dict[str, type[Provider]]:
    """Every package under ``emulator/`` that exposes ``PROVIDER``, by name, in name order.

    An import error inside a provider package is raised, so a broken provider is never
    silently left out.
    """
    import emulator

    found: dict[str, type[Provider]] = {}
    for module in pkgutil.iter_modules(emulator.__path__):
        if module.ispkg:
            package = importlib.import_module(f"emulator.{module.name}")
            provider_class: type[Provider] | None = getattr(package, "PROVIDER", None)
            if provider_class is not None:
                found[provider_class.name] = provider_class
    return dict(sorted(found.items()))


def canonical_hash(value: Any) -> str:
    """SHA-256 of the canonical JSON form of `value` (sorted keys, compact)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()
