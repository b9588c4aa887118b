"""Agent and pipeline executions: create, retrieve, cancel, and a pipeline's output (their
lists are :mod:`.execution_lists`).

Decisions the SDK and the OpenAPI document leave open, made here once:

* Any configuration version id (and any `agent_id`) is accepted: there is no catalogue, so a
  client's real ids work out of the box. `agent_id` stands for that agent's current
  configuration version (a stable derived id).
* The agent create body may be the OpenAPI form (`agentConfigurationVersionId`,
  `agentInput`, `agentInputSummary`) or what the official client sends (`agent_id`,
  `input_data`); a missing summary gets a default. The pipeline form has no such split.
* A create names exactly one team in `teamIds`; the execution belongs to it, and a request
  naming other teams gets 403 for it.
* Cancelling a terminal execution: 409 for agents (the endpoint is not in the OpenAPI
  document; the client's docstring promises a conflict), 400 for pipelines (as documented).
* `GET .../output` answers 404 until the pipeline has completed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from emulator.blobs import DOWNLOAD, SIGNED_URL_TTL_S, Blob, SignedStorage
from emulator.clock import OVERRIDE_FIELD, SUCCEEDED, JobRecord, OverrideError, parse_override
from emulator.clock import rejection as override_rejection
from emulator.moderately.bodies import agent_fields, pipeline_fields
from emulator.moderately.execution_lists import ExecutionLists, config_scope
from emulator.moderately.model import (
    AGENT,
    PIPELINE,
    Execution,
    delivered_via_s3,
    output_of,
    output_summary,
    s3_object,
    split_override,
)
from emulator.moderately.records import render_agent, render_pipeline
from emulator.moderately.wire import (
    BadRequest,
    bad_request,
    error,
    iso,
    json_body,
    new_id,
    teams_of,
    text_field,
)
from emulator.provider import ProviderContext, canonical_hash

OUTPUT_PREFIX = "outputs/"
Renderer = Callable[[JobRecord, float], dict[str, Any]]


class ExecutionsApi:
    """Handlers for `/agent-executions` and `/pipeline-executions`."""

    def __init__(
        self, ctx: ProviderContext, storage: SignedStorage, next_seq: Callable[[], int]
    ) -> None:
        self.ctx = ctx
        self.storage = storage
        self.next_seq = next_seq
        self.lists = ExecutionLists(ctx)

    def routes(self, guard: Any) -> list[web.RouteDef]:
        """Routes in match order (`/cancel` and `/output` before nothing that shadows them)."""
        agent, pipeline = "/agent-executions/{id}", "/pipeline-executions/{id}"
        return [
            web.post("/agent-executions", guard(self.create_agent)),
            web.get("/agent-executions", guard(self.lists.agents)),
            web.get(agent, guard(self.get_agent)),
            web.post(agent + "/cancel", guard(self.cancel_agent)),
            web.patch(agent + "/cancel", guard(self.cancel_agent)),  # the async client's verb
            web.post("/pipeline-executions", guard(self.create_pipeline)),
            web.get("/pipeline-executions", guard(self.lists.pipelines)),
            web.get(pipeline, guard(self.get_pipeline)),
            web.post(pipeline + "/cancel", guard(self.cancel_pipeline)),
            web.get(pipeline + "/output", guard(self.output)),
        ]

    def _find(self, request: web.Request, kind: str) -> JobRecord | web.Response:
        """The execution in the path, or the 404/403 response to send instead."""
        job = self.ctx.jobs.get(request.match_info["id"])
        if job is None or job.data.kind != kind:
            return error(request, 404, f"{kind.capitalize()} execution not found")
        if job.data.team not in teams_of(request):
            return error(request, 403, "User is not a member of the team that owns this execution")
        return job

    async def _create(
        self, request: web.Request, kind: str, fields: dict[str, Any], render: Renderer
    ) -> web.Response:
        """Plan the job on the clock and record it; 201 with the rendered execution."""
        teams = teams_of(request)
        if len(teams) != 1:
            return error(request, 400, "teamIds must name exactly one team to create in")
        try:
            clock_part, spec = split_override(fields["input"].get(OVERRIDE_FIELD))
            override = parse_override(clock_part)
            refused = override_rejection(override)
        except OverrideError as exc:
            return error(request, 400, str(exc))
        if refused:
            return error(request, *refused)
        (team,) = teams
        execution = Execution(kind=kind, team=team, seq=self.next_seq(), output_spec=spec, **fields)
        job = self.ctx.create_job(
            new_id(),
            self.ctx.clock.plan(self.ctx.settings, override),
            awaiting_confirmation=False,
            tag=None,  # the platform has no idempotency key, tag or metadata on executions
            payload_hash=canonical_hash([kind, team, execution.body]),
            data=execution,
            scope=(team, kind),
            also=(config_scope(team, kind, execution.config_version_id),),
            tie=f"{execution.seq:012d}",  # the lists' tie-breaker: insertion order
        )
        return web.json_response(render(job, self.ctx.clock.now()), status=201)

    async def create_agent(self, request: web.Request) -> web.Response:
        """`POST /agent-executions` in either body form."""
        try:
            fields = agent_fields(await json_body(request))
        except BadRequest as exc:
            return bad_request(request, exc)
        return await self._create(request, AGENT, fields, render_agent)

    async def create_pipeline(self, request: web.Request) -> web.Response:
        """`POST /pipeline-executions`; the summary is at most 1,000 characters."""
        try:
            fields = pipeline_fields(await json_body(request))
        except BadRequest as exc:
            return bad_request(request, exc)
        return await self._create(request, PIPELINE, fields, render_pipeline)

    async def get_agent(self, request: web.Request) -> web.Response:
        """`GET /agent-executions/{id}`."""
        found = self._find(request, AGENT)
        if isinstance(found, web.Response):
            return found
        return web.json_response(render_agent(found, self.ctx.clock.now()))

    async def get_pipeline(self, request: web.Request) -> web.Response:
        """`GET /pipeline-executions/{id}`."""
        found = self._find(request, PIPELINE)
        if isinstance(found, web.Response):
            return found
        return web.json_response(render_pipeline(found, self.ctx.clock.now()))

    async def cancel_agent(self, request: web.Request) -> web.Response:
        """Cancel a non-terminal agent execution; 409 once it has ended. The body is ignored."""
        found = self._find(request, AGENT)
        if isinstance(found, web.Response):
            return found
        now = self.ctx.clock.now()
        if not self.ctx.cancel(found, now):
            status = render_agent(found, now)["status"]
            return error(request, 409, f"Agent execution is already {status}")
        return web.json_response(render_agent(found, now))

    async def cancel_pipeline(self, request: web.Request) -> web.Response:
        """Cancel with an optional `reason` (at most 500 characters); 400 once it has ended."""
        found = self._find(request, PIPELINE)
        if isinstance(found, web.Response):
            return found
        try:
            reason = text_field(await json_body(request, required=False), "reason", high=500)
        except BadRequest as exc:
            return bad_request(request, exc)
        now = self.ctx.clock.now()
        if not self.ctx.cancel(found, now):
            return error(
                request, 400,
                "The provided request data is invalid or execution cannot be cancelled",
            )
        found.data.cancel_reason = reason
        return web.json_response(render_pipeline(found, now))

    async def output(self, request: web.Request) -> web.Response:
        """Inline output, or a presigned URL to the S3 object (gzip unless told otherwise)."""
        found = self._find(request, PIPELINE)
        if isinstance(found, web.Response):
            return found
        now = self.ctx.clock.now()
        if found.phase(now) != SUCCEEDED:
            return error(request, 404, "Pipeline execution not found or has no output available")
        if not delivered_via_s3(found):
            body = {"type": "inline", "data": output_of(found), "summary": output_summary(found)}
            return web.json_response(body)
        blob = s3_object(found, now)
        compression = found.data.output_spec.compression
        return web.json_response({
            "type": "s3",
            "downloadUrl": self.storage.url(request, OUTPUT_PREFIX + found.remote_id, DOWNLOAD),
            "expiresAt": iso(now + SIGNED_URL_TTL_S),
            "metadata": {
                "fileSizeBytes": len(blob.data),
                "compressionType": compression,
                "fileType": "json",
                "outputSummary": output_summary(found),
            },
        })

    def resolve_output(self, key: str) -> Blob | None:
        """The S3 object behind a signed output URL (made on demand, never stored)."""
        job = self.ctx.jobs.get(key.removeprefix(OUTPUT_PREFIX))
        now = self.ctx.clock.now()
        if job is None or job.data.kind != PIPELINE or job.phase(now) != SUCCEEDED:
            return None
        return s3_object(job, now)
