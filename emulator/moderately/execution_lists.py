"""The execution lists: `GET /agent-executions` and `GET /pipeline-executions`.

Rows are filtered by kind, the teams in `teamIds`, ids (executions, agents, configuration
versions), statuses and whether there is an output, then ordered and paged as
:mod:`.listing` does for every list. A list asked only for one team's executions of one
configuration version by creation time is read from the index in that order, so a page
costs no scan (what a fleet's search for a lost create asks). Agents list newest first by
default, pipelines oldest first, as the OpenAPI document bounds their page sizes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from emulator.clock import SUCCEEDED, JobRecord
from emulator.moderately.bodies import agent_filters, pipeline_filters
from emulator.moderately.listing import ListSpec, PageRequest, page_of, paginate, parse_page
from emulator.moderately.model import AGENT, PIPELINE, Execution
from emulator.moderately.records import render_agent, render_pipeline
from emulator.moderately.wire import (
    STATUS_BY_PHASE,
    BadRequest,
    bad_request,
    query_values,
    teams_of,
)
from emulator.provider import ProviderContext


class ExecutionLists:
    """Handlers for the two list endpoints."""

    def __init__(self, ctx: ProviderContext) -> None:
        self.ctx = ctx

    async def agents(self, request: web.Request) -> web.Response:
        """`GET /agent-executions`, newest first unless asked otherwise."""
        return self._list(request, AGENT, agent_filters(request.query), AGENT_LIST)

    async def pipelines(self, request: web.Request) -> web.Response:
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
