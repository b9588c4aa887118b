"""Agent and pipeline executions: create, retrieve, list, cancel, and a pipeline's output.

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
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from emulator.blobs import DOWNLOAD, SIGNED_URL_TTL_S, Blob, SignedStorage
from emulator.clock import OVERRIDE_FIELD, SUCCEEDED, JobRecord, OverrideError, parse_override
from emulator.clock import rejection as override_rejection
from emulator.moderately.bodies import (
    agent_fields,
    agent_filters,
    pipeline_fields,
    pipeline_filters,
)
from emulator.moderately.listing import ListSpec, PageRequest, page_of, paginate, parse_page
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
    STATUS_BY_PHASE,
    BadRequest,
    bad_request,
    error,
    iso,
    json_body,
    new_id,
    query_values,
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

    def routes(self, guard: Any) -> list[web.RouteDef]:
        """Routes in match order (`/cancel` and `/output` before nothing that shadows them)."""
        agent, pipeline = "/agent-executions/{id}", "/pipeline-executions/{id}"
        return [
            web.post("/agent-executions", guard(self.create_agent)),
            web.get("/agent-executions", guard(self.list_agents)),
            web.get(agent, guard(self.get_agent)),
            web.post(agent + "/cancel", guard(self.cancel_agent)),
            web.patch(agent + "/cancel", guard(self.cancel_agent)),  # the async client's verb
            web.post("/pipeline-executions", guard(self.create_pipeline)),
            web.get("/pipeline-executions", guard(self.list_pipelines)),
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

    async def list_agents(self, request: web.Request) -> web.Response:
        """`GET /agent-executions`, newest first unless asked otherwise."""
        return self._list(request, AGENT, agent_filters(request.query), AGENT_LIST)

    async def list_pipelines(self, request: web.Request) -> web.Response:
        """`GET /pipeline-executions`, oldest first unless asked otherwise."""
        try:
            filters = pipeline_filters(request.query)
        except BadRequest as exc:
            return bad_request(request, exc)
        return self._list(request, PIPELINE, filters, PIPELINE_LIST)

    def _candidates(self, wanted: Wanted) -> list[JobRecord]:
        """The jobs a list may show: those it names by id (looked up, not scanned), else
        the team's jobs of that kind from the index."""
        ids = wanted.ids.get("id")
        if ids:
            return [job for job in map(self.ctx.jobs.get, sorted(ids)) if job is not None]
        return [job for team in sorted(wanted.teams)
                for job in self.ctx.index.created((team, wanted.kind))]

    def _list(
        self, request: web.Request, kind: str, filters: dict[str, set[str]], spec: ListSpec
    ) -> web.Response:
        """Filter by kind, team, ids, statuses and output; then one page of it."""
        try:
            page = parse_page(request.query, spec)
        except BadRequest as exc:
            return bad_request(request, exc)
        now = self.ctx.clock.now()
        wanted = Wanted(
            kind,
            teams_of(request),
            filters,
            query_values(request.query, "statuses", "status"),
            request.query.get("hasAgentOutput"),
        )
        render = render_agent if kind == AGENT else render_pipeline
        in_order = self._one_config(wanted, page)
        if in_order is not None:  # already in the order asked for: a page is a slice
            return web.json_response(page_of(in_order, page, lambda job: render(job, now)))
        rows = [job for job in self._candidates(wanted) if wanted.matches(job, now)]
        body = paginate(rows, page, spec, now, _seq, lambda job: render(job, now))
        return web.json_response(body)

    def _one_config(self, wanted: Wanted, page: PageRequest) -> list[JobRecord] | None:
        """One team's executions of one configuration version by creation time, from the
        index, when that is all the list asks for; None for any other filter or order."""
        configs = wanted.ids.get("config") or set()
        others = any(values for name, values in wanted.ids.items() if name != "config")
        if (len(configs) != 1 or len(wanted.teams) != 1 or others or wanted.statuses
                or wanted.has_output is not None or page.order != "createdAt"):
            return None
        (team,), (config,) = wanted.teams, configs
        return self.ctx.index.created(config_scope(team, wanted.kind, config))


@dataclass(frozen=True)
class Wanted:
    """The row filter of one list request; an empty set means no filter on that field."""

    kind: str
    teams: frozenset[str]
    ids: dict[str, set[str]]
    statuses: set[str]
    has_output: str | None

    def matches(self, job: JobRecord, now: float) -> bool:
        """Whether `job` belongs in the list."""
        execution: Execution = job.data
        if execution.kind != self.kind or execution.team not in self.teams or job.plan.unlisted:
            return False
        values = {
            "id": job.remote_id,
            "agent": execution.agent_id,
            "config": execution.config_version_id,
        }
        if any(wanted and values[name] not in wanted for name, wanted in self.ids.items()):
            return False
        phase = job.phase(now)
        if self.statuses and STATUS_BY_PHASE[phase] not in self.statuses:
            return False
        return self.has_output is None or (phase == SUCCEEDED) == (self.has_output == "true")


def config_scope(team: str, kind: str, config: str) -> tuple[str, str, str, str]:
    """The index scope of one team's executions of one configuration version."""
    return (team, kind, "config", config)


def _seq(job: JobRecord) -> int:
    return job.data.seq


def _updated_at(job: JobRecord, now: float) -> float:
    events = (job.created_at, job.started_at(now), job.finished_at(now))
    return max(t for t in events if t is not None)


ORDER_FIELDS: dict[str, Callable[[JobRecord, float], Any]] = {
    "createdAt": lambda job, now: job.created_at,
    "updatedAt": _updated_at,
    "startedAt": lambda job, now: job.started_at(now),
}
# Page sizes as the OpenAPI document bounds them; agents list newest first, pipelines oldest.
AGENT_LIST = ListSpec(20, 100, ORDER_FIELDS)
PIPELINE_LIST = ListSpec(10, 1000, ORDER_FIELDS, default_desc=False)
