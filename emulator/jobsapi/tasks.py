"""Task handlers: create (with an ``Idempotency-Key``), get, abort, list and artifacts.

Decisions made here once:

* A create with an ``Idempotency-Key`` seen before answers the task it made (200, header
  ``Idempotent-Replayed: true``) when the body is the same, and 422 when it differs; keys are
  kept per credential for the emulator's life (``reset`` forgets them). Without a key every
  create makes a task (202).
* Abort moves a task that has not ended to ``aborted``; an ended one is a 409
  ``already_ended`` naming its condition.
* Artifacts exist once a task is ``done`` (409 before): a summary object and one file,
  ``report.json``, served under the task with the API key, not through a presigned URL.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from aiohttp import web

from emulator.clock import OVERRIDE_FIELD, JobRecord, OverrideError, parse_override, rejection
from emulator.context import CURRENT_CREDENTIAL
from emulator.jobsapi.listing import ListError, parse_query
from emulator.jobsapi.wire import (
    CONDITION_BY_PHASE,
    ENDED,
    Task,
    create_problem,
    error,
    key_problem,
    new_token,
    render,
)
from emulator.provider import ProviderContext, canonical_hash

REPORT = "report.json"
REPLAYED = "Idempotent-Replayed"


class TasksApi:
    """Handlers under ``/v2/tasks``; one instance per provider context."""

    def __init__(self, ctx: ProviderContext) -> None:
        self.ctx = ctx
        self.ordered: list[JobRecord] = []  # index = the task's seq: cursor pages are slices
        self.by_key: dict[tuple[str, str], JobRecord] = {}  # (credential, key) → task

    def routes(self, guard: Callable[[Any], Any]) -> list[web.RouteDef]:
        """Routes in match order; ``guard`` wraps a handler with the API-key check."""
        one = "/v2/tasks/{token:tsk_[0-9a-f]+}"
        return [
            web.post("/v2/tasks", guard(self.create)),
            web.get("/v2/tasks", guard(self.list_tasks)),
            web.get(one, guard(self.get_task)),
            web.post(one + "/abort", guard(self.abort)),
            web.get(one + "/artifacts", guard(self.artifacts)),
            web.get(one + "/artifacts/{name}", guard(self.artifact_file)),
        ]

    def reset(self) -> None:
        """Forget the submission order and the idempotency keys."""
        self.ordered.clear()
        self.by_key.clear()

    def condition(self, job: JobRecord) -> str:
        return CONDITION_BY_PHASE[job.phase(self.ctx.clock.now())]

    def _task(self, job: JobRecord, status: int = 200, **headers: str) -> web.Response:
        body = {"task": render(job, self.ctx.clock.now())}
        return web.json_response(body, status=status, headers=headers or None)

    def _find(self, request: web.Request) -> JobRecord | None:
        job = self.ctx.jobs.get(request.match_info["token"])
        return job if job is not None and job.data.credential == CURRENT_CREDENTIAL.get() else None

    async def create(self, request: web.Request) -> web.Response:
        """Validates, honours the idempotency key, plans the task on the job clock."""
        try:
            body = await request.json()
        except ValueError:
            return error(400, "invalid_json", "the body is not valid JSON")
        key = request.headers.get("Idempotency-Key")
        problem = create_problem(body) or key_problem(key)
        if problem:
            return error(400, "invalid_request", problem)
        body_hash = canonical_hash(body)
        credential = CURRENT_CREDENTIAL.get()
        earlier = self.by_key.get((credential, key)) if key else None
        if earlier is not None:
            if earlier.data.body_hash != body_hash:
                return error(422, "idempotency_mismatch",
                             "this Idempotency-Key was used with a different body")
            return self._task(earlier, 200, **{REPLAYED: "true"})
        try:
            override = parse_override(body["input"].get(OVERRIDE_FIELD))
            refused = rejection(override)
        except OverrideError as exc:
            return error(400, "invalid_request", str(exc))
        if refused:
            return error(refused[0], "rejected", refused[1])
        job = self._make(body, key, body_hash, credential, override)
        return self._task(job, 202)

    def _make(self, body: dict[str, Any], key: str | None, body_hash: str, credential: str,
              override: dict[str, Any] | None) -> JobRecord:
        task = Task(seq=len(self.ordered), template=body["template"], input=body["input"],
                    priority=body.get("priority", 0), labels=dict(body.get("labels", {})),
                    idempotency_key=key, body_hash=body_hash, credential=credential)
        plan = self.ctx.clock.plan(self.ctx.settings, override)
        job = self.ctx.create_job(new_token(), plan, awaiting_confirmation=False, tag=key,
                                  payload_hash=body_hash, data=task)
        self.ordered.append(job)
        if key:
            self.by_key[(credential, key)] = job
        return job

    async def get_task(self, request: web.Request) -> web.Response:
        """One task, wrapped."""
        job = self._find(request)
        return self._task(job) if job is not None else _not_found(request)

    async def abort(self, request: web.Request) -> web.Response:
        """Aborts a task that has not ended; 409 for one that has."""
        job = self._find(request)
        if job is None:
            return _not_found(request)
        condition = self.condition(job)
        if condition in ENDED:
            return error(409, "already_ended", f"task {job.remote_id} is already {condition}")
        job.cancel(self.ctx.clock.now())
        return self._task(job)

    async def list_tasks(self, request: web.Request) -> web.Response:
        """A cursor page of the caller's tasks."""
        try:
            query = parse_query(request.query)
        except ListError as exc:
            return error(400, "invalid_query", str(exc))
        credential = CURRENT_CREDENTIAL.get()
        rows, cursor = query.run(self.ordered, self.ctx.jobs, self.condition,
                                 lambda job: job.data.credential == credential)
        now = self.ctx.clock.now()
        items = [render(job, now) for job in rows]
        return web.json_response({"items": items, "next_cursor": cursor},
                                 dumps=lambda v: json.dumps(v, separators=(",", ":")))

    async def artifacts(self, request: web.Request) -> web.Response:
        """The summary and file list of a ``done`` task; 409 before."""
        job = self._find(request)
        if job is None:
            return _not_found(request)
        condition = self.condition(job)
        if condition != "done":
            return error(409, "not_done", f"task {job.remote_id} is {condition}, not done")
        report = report_bytes(job)
        href = f"/v2/tasks/{job.remote_id}/artifacts/{REPORT}"
        return web.json_response({"artifacts": {
            "summary": summary(job),
            "files": [{"name": REPORT, "href": href, "bytes": len(report)}],
        }})

    async def artifact_file(self, request: web.Request) -> web.Response:
        """The bytes of one artifact file of a ``done`` task."""
        job = self._find(request)
        if job is None or request.match_info["name"] != REPORT or self.condition(job) != "done":
            return error(404, "not_found", "no such artifact")
        return web.Response(body=report_bytes(job), content_type="application/json")


def summary(job: JobRecord) -> dict[str, Any]:
    """A done task's result: deterministic in its input, so a test can check it."""
    task: Task = job.data
    digest = _input_digest(task)
    return {"template": task.template, "input_sha256": digest, "score": int(digest[:6], 16) % 1000}


def report_bytes(job: JobRecord) -> bytes:
    """The ``report.json`` artifact of a done task."""
    return json.dumps({"token": job.remote_id, **summary(job)}, sort_keys=True).encode()


def _input_digest(task: Task) -> str:
    visible = {k: v for k, v in task.input.items() if k != OVERRIDE_FIELD}
    return hashlib.sha256(json.dumps(visible, sort_keys=True).encode()).hexdigest()


def _not_found(request: web.Request) -> web.Response:
    return error(404, "not_found", f"no task {request.match_info['token']}")
