"""Moderately AI, assembled: the API-key and team guard, routes, storage and status names.

Base URL: `http://HOST:PORT/moderately`; the official client appends `/agent-executions`,
`/pipeline-executions`, `/files` ... with no version prefix. Every API route needs
`Authorization: Bearer <key>` (any non-empty key unless `--md-api-key` narrows them) and the
query parameter `teamIds` (one team or a comma-separated list: the caller's teams for this
request). `--md-team` (repeatable) makes the key a member of those teams only.

What the real server does without `teamIds` is not documented (the official client always
sends it); the emulator answers 400 so a client that forgets it is caught. A team the key
does not belong to gets the documented 403 "User is not a member of the specified team".
`/health` and the presigned storage URLs need neither key nor team.
"""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from emulator.blobs import Blob, SignedStorage
from emulator.clock import JobRecord
from emulator.moderately.executions import OUTPUT_PREFIX, ExecutionsApi
from emulator.moderately.files import FilesApi
from emulator.moderately.wire import STATUS_BY_PHASE, TEAMS_KEY, error, query_values
from emulator.provider import Provider, ProviderContext

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
BEARER = "bearer "


async def health(request: web.Request) -> web.Response:
    """`GET /health`, open like the real one."""
    return web.json_response({"status": "ok"})


class ModeratelyProvider(Provider):
    """Agent executions, pipeline executions and files, as `moderatelyai-sdk` 0.2.7 uses them."""

    name = "moderately"
    created_label = "executions_created"

    def __init__(self, ctx: ProviderContext) -> None:
        super().__init__(ctx)
        self._keys = frozenset(getattr(ctx.options, "md_api_keys", None) or ())
        self._teams = frozenset(getattr(ctx.options, "md_teams", None) or ())
        self._seq = itertools.count()
        storage = SignedStorage(ctx.prefix, ctx.signer, self._store, self._resolve, ctx.clock.now)
        self.storage = storage
        self.executions = ExecutionsApi(ctx, storage, self._next_seq)
        self.files = FilesApi(ctx, storage, self._next_seq)

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """`--md-api-key KEY` and `--md-team TEAM` (both repeatable) narrow who gets in."""
        parser.add_argument(
            "--md-api-key", action="append", dest="md_api_keys", default=[], metavar="KEY",
            help="Moderately: accept only this API key (repeatable; default: any non-empty key)",
        )
        parser.add_argument(
            "--md-team", action="append", dest="md_teams", default=[], metavar="TEAM",
            help="Moderately: the key belongs to this team only (repeatable; default: any team)",
        )

    def _next_seq(self) -> int:
        return next(self._seq)

    def _store(self, key: str, data: bytes, content_type: str) -> Blob:
        if key.startswith(OUTPUT_PREFIX):
            raise web.HTTPForbidden(reason="output objects are written by the platform only")
        return self.files.store_upload(key, data, content_type)

    def _resolve(self, key: str) -> Blob | None:
        if key.startswith(OUTPUT_PREFIX):
            return self.executions.resolve_output(key)
        return self.files.resolve(key)

    def _refusal(self, request: web.Request) -> web.Response | None:
        """The 401/400/403 for a request without a usable key or team, else None."""
        header = request.headers.get("Authorization", "")
        key = header[len(BEARER):].strip() if header.lower().startswith(BEARER) else ""
        if not key or (self._keys and key not in self._keys):
            return error(request, 401, "Invalid API key or authentication failed")
        teams = query_values(request.query, "teamIds")
        if not teams:
            return error(request, 400, "teamIds query parameter is required")
        if self._teams and not teams <= self._teams:
            return error(request, 403, "User is not a member of the specified team")
        request[TEAMS_KEY] = frozenset(teams)
        return None

    def guard(self, handler: Handler) -> Handler:
        """Wrap a handler with the key and team checks."""

        async def guarded(request: web.Request) -> web.StreamResponse:
            return self._refusal(request) or await handler(request)

        return guarded

    def routes(self) -> list[web.RouteDef]:
        """Health, presigned storage, executions and files (in match order)."""
        return [
            web.get("/health", health),
            *self.storage.routes(),
            *self.executions.routes(self.guard),
            *self.files.routes(self.guard),
        ]

    def status_of(self, job: JobRecord, now: float) -> str:
        """The wire status (`completed` for success, British `cancelled`)."""
        return STATUS_BY_PHASE[job.phase(now)]

    def describe_job(self, job: JobRecord, now: float) -> dict[str, Any]:
        """The record plus kind, team, configuration version and cancel reason."""
        execution = job.data
        return {
            **super().describe_job(job, now),
            "kind": execution.kind,
            "team": execution.team,
            "configuration_version_id": execution.config_version_id,
            "input_summary": execution.summary,
            "cancel_reason": execution.cancel_reason,
            "output_delivery": execution.output_spec.delivery,
        }

    def reset(self) -> None:
        """Forget jobs, files, file records and counters."""
        super().reset()
        self.files.reset()
