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
from collections import Counter
from typing import Any, ClassVar

from aiohttp import web

from emulator.clock import JobRecord, parse_override
from emulator.context import ProviderContext
from emulator.faults import edge_middleware

# Uploads are held in memory; large enough for realistic inputs, small enough to stay sane.
MAX_BODY_BYTES = 256 * 1024 * 1024


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
