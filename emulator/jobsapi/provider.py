"""The generic jobs API, assembled: the API-key guard, routes and condition names.

Base URL: ``http://HOST:PORT/jobsapi``; the API lives under ``/v2``. Every ``/v2/tasks``
route needs ``X-API-Key: <key>`` (any non-empty key unless ``--ja-api-key`` narrows them);
each key sees only the tasks it created. ``GET /v2/health`` is open.

| request | answer |
|---|---|
| ``POST /v2/tasks`` (+ ``Idempotency-Key``) | 202 ``{"task": {...}}`` (200 on a replay) |
| ``GET /v2/tasks/{token}`` | ``{"task": {...}}`` |
| ``POST /v2/tasks/{token}/abort`` | ``{"task": {...}}``; 409 once ended |
| ``GET /v2/tasks/{token}/artifacts`` | ``{"artifacts": {"summary", "files": [...]}}`` |
| ``GET /v2/tasks/{token}/artifacts/{name}`` | the file's bytes |
| ``GET /v2/tasks?limit&cursor&token&condition&idempotency_key&template`` | a cursor page |

Conditions: ``accepted → in_progress → done | errored``, or ``aborted``.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from emulator.clock import JobRecord
from emulator.jobsapi.tasks import TasksApi
from emulator.jobsapi.wire import CONDITION_BY_PHASE, error
from emulator.provider import Provider, ProviderContext

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
KEY_HEADER = "X-API-Key"


async def health(request: web.Request) -> web.Response:
    """``GET /v2/health``, open."""
    return web.json_response({"ok": True})


class JobsApiProvider(Provider):
    """Tasks with an idempotency key, a cursor listing and artifacts."""

    name = "jobsapi"
    created_label = "tasks_created"

    def __init__(self, ctx: ProviderContext) -> None:
        super().__init__(ctx)
        self._keys = frozenset(getattr(ctx.options, "ja_api_keys", None) or ())
        self.tasks = TasksApi(ctx)

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """``--ja-api-key KEY`` (repeatable): accept only these keys."""
        parser.add_argument(
            "--ja-api-key", action="append", dest="ja_api_keys", default=[], metavar="KEY",
            help="jobs API: accept only this X-API-Key (repeatable; default: any non-empty key)",
        )

    def guard(self, handler: Handler) -> Handler:
        """Wraps a handler with the API-key check (401 in the API's envelope)."""

        async def guarded(request: web.Request) -> web.StreamResponse:
            key = request.headers.get(KEY_HEADER, "").strip()
            if not key or (self._keys and key not in self._keys):
                return error(401, "unauthenticated", "missing or unknown X-API-Key")
            return await handler(request)

        return guarded

    def routes(self) -> list[web.RouteDef]:
        """Health, then the task routes."""
        return [web.get("/v2/health", health), *self.tasks.routes(self.guard)]

    def status_of(self, job: JobRecord, now: float) -> str:
        """The task's condition (``done`` for success)."""
        return CONDITION_BY_PHASE[job.phase(now)]

    def describe_job(self, job: JobRecord, now: float) -> dict[str, Any]:
        """The record plus template, labels and idempotency key."""
        task = job.data
        return {**super().describe_job(job, now), "template": task.template,
                "labels": task.labels, "idempotency_key": task.idempotency_key}

    def reset(self) -> None:
        """Forget tasks, keys and counters."""
        super().reset()
        self.tasks.reset()
