"""Deep Origin tools service: clusters, execution create/get/list, cancel and confirm.

Decisions the SDK leaves open, made here once:

* `approveAmount` absent runs at once; `<= 0` only quotes (the SDK sends -1, the authors' mock
  used 0); a positive amount runs when the price fits under it and quotes otherwise.
* A confirm starts the job's clock, so the duration counts from the confirm, and the DTO it
  returns is never `Quoted`. Confirming anything but a quote is a 409.
* Cancel moves any non-terminal job, including a quote, to `Cancelled`; on a terminal job it
  changes nothing and still answers 200 with the DTO.
* `sync: true` (top level or in `inputs`) really blocks: the POST (or the confirm of a sync
  quote) answers when the job reaches a terminal status, as the real service does.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from typing import Any

from aiohttp import web

from emulator.clock import (
    QUOTED,
    TERMINAL_PHASES,
    JobRecord,
    OverrideError,
    parse_override,
    rejection,
)
from emulator.deeporigin.dto import (
    CLUSTER_ID,
    STATUS_BY_PHASE,
    Execution,
    render,
    resolve_version,
)
from emulator.deeporigin.listing import QueryError, parse_query
from emulator.deeporigin.rows import list_page
from emulator.deeporigin.search import parse_search, run_search
from emulator.provider import ProviderContext, canonical_hash

VISIBILITIES = ("visible", "hidden")
# A blocking create re-checks at least this often, so a cancel ends the wait promptly.
SYNC_POLL_MAX_S = 0.5


def error(status: int, message: str) -> web.Response:
    """A JSON error body carrying `message` (and `detail`, which FastAPI clients read)."""
    return web.json_response({"message": message, "detail": message}, status=status)


def not_found(execution_id: str) -> web.Response:
    """The 404 the authors' mock server gives for an unknown execution."""
    return error(404, f"Execution {execution_id} not found")


def wants_v2(request: web.Request) -> bool:
    """The client asks for the v2 DTO (tree progress report) with `Accept: ...;v=2.0`."""
    return "v=2" in request.headers.get("Accept", "")


def needs_quote(approve_amount: float | None, price: float) -> bool:
    """Whether a create only quotes, given the caller's spend cap and the job's price."""
    if approve_amount is None:
        return False
    return approve_amount <= 0 or price > approve_amount


def validate_create(body: Any) -> str | None:
    """Why a create body is rejected, or None. Accepts every body the 5.4.0 SDK sends."""
    if not isinstance(body, dict):
        return "request body must be a JSON object"
    if not isinstance(body.get("inputs"), dict):
        return "inputs must be an object"
    project = body.get("projectId")
    if not isinstance(project, str) or not project:
        return "projectId is required"
    return _field_type_problem(body) or _option_problem(body)


def _field_type_problem(body: dict[str, Any]) -> str | None:
    for key in ("outputs", "metadata"):
        if key in body and not isinstance(body[key], dict):
            return f"{key} must be an object"
    for key in ("clusterId", "app", "session", "name", "tag", "billing"):
        if body.get(key) is not None and not isinstance(body[key], str):
            return f"{key} must be a string"
    return None


def _option_problem(body: dict[str, Any]) -> str | None:
    if "visibility" in body and body["visibility"] not in VISIBILITIES:
        return "visibility must be 'visible' or 'hidden' (omit it rather than sending null)"
    amount = body.get("approveAmount")
    if amount is not None and (isinstance(amount, bool) or not isinstance(amount, (int, float))):
        return "approveAmount must be a number"
    if "sync" in body and not isinstance(body["sync"], bool):
        return "sync must be a boolean"
    return None


class ExecutionsApi:
    """Handlers for `/tools/{org}/...`; one instance per provider context."""

    def __init__(self, ctx: ProviderContext) -> None:
        self.ctx = ctx
        self.hidden_scopes: set[tuple[str, str]] = set()  # (org, project) with hidden runs

    def routes(self, guard: Any) -> list[web.RouteDef]:
        """Routes in match order; `guard` wraps a handler with the bearer-token check."""
        one = "/tools/{org}/tools/executions/{execution_id:[^/:]+}"
        return [
            web.get("/tools/{org}/clusters", guard(self.clusters)),
            web.post(
                "/tools/{org}/tools/{tool_key}/{tool_version}/executions", guard(self.create)
            ),
            web.get("/tools/{org}/tools/executions", guard(self.list_executions)),
            web.get(one, guard(self.get_execution)),
            web.patch(one + ":cancel", guard(self.cancel)),
            web.patch(one + ":confirm", guard(self.confirm)),
            web.post("/data-platform/{org}/executions/search", guard(self.search)),
        ]

    def _find(self, request: web.Request) -> JobRecord | None:
        job = self.ctx.jobs.get(request.match_info["execution_id"])
        if job is None or job.data.org != request.match_info["org"]:
            return None
        return job

    def _dto(self, request: web.Request, job: JobRecord) -> web.Response:
        return web.json_response(render(job, self.ctx.clock.now(), v2=wants_v2(request)))

    async def clusters(self, request: web.Request) -> web.Response:
        """The org's clusters; the SDK uses `data[0].id` as the default `clusterId`."""
        cluster = {"id": CLUSTER_ID, "name": "Emulator cluster", "hostname": "emulator.local"}
        return web.json_response({"data": [cluster], "count": 1, "pagination": {"count": 1}})

    async def create(self, request: web.Request) -> web.Response:
        """Create an execution: validate, plan it on the job clock, quote or start it."""
        try:
            body = await request.json()
        except ValueError:
            return error(400, "request body is not valid JSON")
        problem = validate_create(body)
        if problem:
            return error(400, problem)
        try:
            override = parse_override(body["inputs"].get("_emulator"))
        except OverrideError as exc:
            return error(400, str(exc))
        refused = rejection(override)
        if refused:
            return error(*refused)
        info = request.match_info
        plan = self.ctx.clock.plan(self.ctx.settings, override)
        execution = Execution(
            info["org"], info["tool_key"], resolve_version(info["tool_version"]), _shared(body)
        )
        job = self.ctx.create_job(
            str(uuid.uuid4()),
            plan,
            awaiting_confirmation=needs_quote(body.get("approveAmount"), plan.price),
            tag=body.get("session"),
            payload_hash=canonical_hash([info["tool_key"], info["tool_version"], body]),
            data=execution,
            scope=(execution.org, body["projectId"]),
        )
        if body.get("visibility") == "hidden":
            self.hidden_scopes.add((execution.org, body["projectId"]))
        if execution.is_sync():
            await self._wait_terminal(job)
        return self._dto(request, job)

    async def _wait_terminal(self, job: JobRecord) -> None:
        """Block a sync request until the job ends (a quote ends the wait at once)."""
        while True:
            now = self.ctx.clock.now()
            phase = job.phase(now)
            if phase in TERMINAL_PHASES or phase == QUOTED:
                return
            start = now if job.clock_start is None else job.clock_start
            remaining = start + job.plan.queue_s + job.plan.duration_s - now
            await asyncio.sleep(min(max(remaining, 0.001), SYNC_POLL_MAX_S))

    async def get_execution(self, request: web.Request) -> web.Response:
        """One execution's DTO."""
        job = self._find(request)
        if job is None:
            return not_found(request.match_info["execution_id"])
        return self._dto(request, job)

    async def list_executions(self, request: web.Request) -> web.Response:
        """A page of executions plus `count`, the total across pages."""
        try:
            query = parse_query(request.query)
        except QueryError as exc:
            return error(400, str(exc))
        now = self.ctx.clock.now()
        rows, count = query.run(self.ctx.jobs, request.match_info["org"], now, self.ctx.index)
        return web.Response(body=list_page(rows, now, count), content_type="application/json",
                            charset="utf-8")

    async def search(self, request: web.Request) -> web.Response:
        """The data platform's execution search (see :mod:`emulator.deeporigin.search`)."""
        try:
            query = parse_search(await request.json())
        except ValueError as exc:  # SearchError, or a body that is not JSON
            field = getattr(exc, "field", "body")
            return web.json_response({"message": str(exc), "errors": [
                {"field": field, "detail": str(exc)}]}, status=400)
        answer = run_search(query, self.ctx.jobs, self.ctx.index, request.match_info["org"],
                            self.ctx.clock.now(), self.hidden_scopes)
        return web.json_response(answer, dumps=_compact)

    async def cancel(self, request: web.Request) -> web.Response:
        """Cancel a non-terminal execution; a terminal one is returned unchanged."""
        job = self._find(request)
        if job is None:
            return not_found(request.match_info["execution_id"])
        self.ctx.cancel(job, self.ctx.clock.now())
        return self._dto(request, job)

    async def confirm(self, request: web.Request) -> web.Response:
        """Start a quoted execution; anything else is a 409 with the current status."""
        job = self._find(request)
        if job is None:
            return not_found(request.match_info["execution_id"])
        now = self.ctx.clock.now()
        phase = job.phase(now)
        if phase != QUOTED:
            status = STATUS_BY_PHASE[phase]
            return error(409, f"Execution {job.remote_id} is {status}, not Quoted")
        self.ctx.confirm(job, now)
        if job.data.is_sync():
            await self._wait_terminal(job)
        return self._dto(request, job)


def _shared(body: dict[str, Any]) -> dict[str, Any]:
    """Share the top-level keys and short string values between stored bodies.

    JSON parsing makes fresh copies of every key; with 100,000 stored jobs the duplicates of
    "inputs", "projectId", "python-client" ... are a good part of the emulator's memory.
    """
    return {
        sys.intern(key): sys.intern(value) if isinstance(value, str) and len(value) <= 64 else value
        for key, value in body.items()
    }


def _compact(value: Any) -> str:
    """Compact JSON for the list endpoint, whose pages can hold thousands of rows."""
    return json.dumps(value, separators=(",", ":"))
