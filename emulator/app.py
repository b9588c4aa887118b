"""The emulator as one object: providers, shared clock and the aiohttp application.

`Emulator` owns what the providers share (the job clock, the random source, the global request
meter) and what the control endpoints act on (stats, settings, reset). It builds the aiohttp
application: control routes at `/_emulator/*`, and each provider as a sub-application mounted
at `/<name>`, where its own edge middleware applies faults and counts requests.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from aiohttp import web

from emulator.clock import JobClock
from emulator.provider import MAX_BODY_BYTES, Provider, ProviderContext
from emulator.settings import ProviderSettings, SettingsError
from emulator.stats import ProviderStats, RateMeter, totals

# `totals` is a key of the stats document next to the provider names.
RESERVED_NAMES = frozenset({"totals"})


class Emulator:
    """All providers of one server process plus the pieces they share."""

    def __init__(
        self,
        provider_classes: Mapping[str, type[Provider]],
        settings: Mapping[str, ProviderSettings],
        options: argparse.Namespace | None = None,
        *,
        seed: int | None = None,
        now: Callable[[], float] = time.time,
    ) -> None:
        rng = random.Random(seed)
        self.clock = JobClock(now, rng)
        self.global_rate = RateMeter()
        self.providers: dict[str, Provider] = {}
        for name, provider_class in provider_classes.items():
            if name in RESERVED_NAMES or name.startswith("_"):
                raise ValueError(f"provider name {name!r} is reserved")
            ctx = ProviderContext(
                name=name,
                defaults=settings.get(name, ProviderSettings()),
                clock=self.clock,
                rng=rng,
                global_rate=self.global_rate,
                options=options or argparse.Namespace(),
                stats=ProviderStats(provider_class.created_label),
            )
            self.providers[name] = provider_class(ctx)

    def build_app(self, control: Iterable[web.RouteDef] = ()) -> web.Application:
        """The root application: ``control`` routes (the server passes
        :func:`emulator.admin.admin_routes`) and one sub-application per provider."""
        app = web.Application(middlewares=[json_errors], client_max_size=MAX_BODY_BYTES)
        app.add_routes(control)
        for name, provider in self.providers.items():
            app.add_subapp(f"/{name}", provider.build_app())
        return app

    def provider(self, name: str) -> Provider:
        """The provider called `name`; raises KeyError for an unknown one."""
        return self.providers[name]

    def stats(self, *, brief: bool = False) -> dict[str, Any]:
        """The stats document: one key per provider name, plus `totals`."""
        now = self.clock.now()
        per_provider = {
            name: provider.ctx.stats.snapshot(provider.jobs_by_status(now), brief=brief)
            for name, provider in self.providers.items()
        }
        return {**per_provider, "totals": totals(per_provider, self.global_rate)}

    def config(self) -> dict[str, Any]:
        """Current settings per provider."""
        return {name: p.ctx.settings.to_json() for name, p in self.providers.items()}

    def configure(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Apply a `POST /_emulator/config` body; all providers change, or none.

        Keys: any setting name, plus `provider` (limit to one provider) and `restore_defaults`
        (start from the start-up settings instead of the current ones). Raises SettingsError.
        """
        changes = dict(changes)
        target = changes.pop("provider", None)
        restore = changes.pop("restore_defaults", False)
        if target is not None and target not in self.providers:
            raise SettingsError(f"unknown provider {target!r}")
        names = [target] if target is not None else list(self.providers)
        updated = {}
        for name in names:
            ctx = self.providers[name].ctx
            updated[name] = (ctx.defaults if restore else ctx.settings).updated(changes)
        for name, settings in updated.items():
            self.providers[name].ctx.settings = settings
        return self.config()

    def reset(self) -> None:
        """Forget every job, file and counter (settings stay as they are)."""
        for provider in self.providers.values():
            provider.reset()
        self.global_rate = RateMeter()
        for provider in self.providers.values():
            provider.ctx.global_rate = self.global_rate


@web.middleware
async def json_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Turn aiohttp's own 4xx/5xx (unknown path, wrong method) into JSON `message` bodies."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return web.json_response({"message": exc.reason}, status=exc.status)
