"""Deep Origin, assembled: routes, bearer-token guard and status names.

Base URL: `http://HOST:PORT/deeporigin`; the official client appends its own paths
(`/tools/{org}/...`, `/files/{org}/...`) to it. Every API route needs `Authorization: Bearer
<JWT>` with a future `exp` (signature unchecked); `--do-token` (repeatable) narrows the accepted
tokens to an exact list. Health routes and presigned storage URLs need no token, as on the
real platform.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from emulator.clock import JobRecord
from emulator.deeporigin.dto import STATUS_BY_PHASE
from emulator.deeporigin.executions import ExecutionsApi
from emulator.deeporigin.files import FilesApi
from emulator.provider import Provider, ProviderContext
from emulator.tokens import check_bearer

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
HEALTH_SERVICES = ("tools", "files", "data-platform", "billing")


async def health(request: web.Request) -> web.Response:
    """`{"status": "ok"}`, as every platform service answers on `/<service>/health`."""
    return web.json_response({"status": "ok"})


class DeepOriginProvider(Provider):
    """The Deep Origin tools and files services, as the `deeporigin` 5.4.0 client uses them."""

    name = "deeporigin"
    created_label = "executions_created"

    def __init__(self, ctx: ProviderContext) -> None:
        super().__init__(ctx)
        self._allowed = frozenset(getattr(ctx.options, "do_tokens", None) or ())
        self.files = FilesApi(ctx)
        self.executions = ExecutionsApi(ctx)

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """`--do-token TOKEN` (repeatable): accept only these bearer tokens."""
        parser.add_argument(
            "--do-token", action="append", dest="do_tokens", default=[], metavar="TOKEN",
            help="Deep Origin: accept only this bearer JWT (repeatable; default: any valid JWT)",
        )

    def guard(self, handler: Handler) -> Handler:
        """Wrap a handler with the bearer-token check (401 JSON `message` on refusal)."""

        async def guarded(request: web.Request) -> web.StreamResponse:
            problem = check_bearer(
                request.headers.get("Authorization"), self.ctx.clock.now(), self._allowed
            )
            if problem:
                return web.json_response({"message": problem}, status=401)
            return await handler(request)

        return guarded

    def routes(self) -> list[web.RouteDef]:
        """Health, storage, tools and files routes (in match order)."""
        health_routes = [web.get(f"/{service}/health", health) for service in HEALTH_SERVICES]
        return [
            *health_routes,
            *self.files.storage.routes(),
            *self.executions.routes(self.guard),
            *self.files.routes(self.guard),
        ]

    def status_of(self, job: JobRecord, now: float) -> str:
        """Deep Origin's status string (`Completed` for success)."""
        return STATUS_BY_PHASE[job.phase(now)]

    def describe_job(self, job: JobRecord, now: float) -> dict[str, Any]:
        """The record plus the org, tool and session it was created with."""
        execution = job.data
        return {
            **super().describe_job(job, now),
            "org": execution.org,
            "tool": {"key": execution.tool_key, "version": execution.tool_version},
            "session": execution.body.get("session"),
        }
