"""The data platform's execution search: `POST /data-platform/{org}/executions/search`.

The official client sends a "props" filter, `{"filter": {"props": [{"column", "op", "value"},
...]}}`, plus optional `limit`, `offset`, `select`, `with_total_count` and `include_hidden`
(the last two only as `true`); its progress-history variant uses top-level columns,
`{"filter": {"compute_job_id": {"eq": id}}}`. Both are read here. Columns: `project_id`,
`tool_key`, `status`, `compute_job_id` (the tools `executionId`), `app`, `session`; ops `eq`,
`neq`, `in`. Anything else is a 400 naming the field, as the real service answers.

Decisions the client leaves open: rows come in creation order (oldest first, ties by id);
`limit` defaults to 100 and may be at most 10,000; `meta` is `{"count": total}` when
`with_total_count` is sent, `{}` otherwise; a row's `id` is `dp-<executionId>`.

A search on `project_id` and a terminal `status` (what a client looking for ended runs
sends) is answered from the job index without a scan; so is one naming `compute_job_id`s.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import islice
from typing import Any

from emulator.clock import CANCELLED, FAILED, SUCCEEDED, JobRecord
from emulator.deeporigin.dto import STATUS_BY_PHASE, iso
from emulator.index import JobIndex

DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
TERMINAL = {"Completed": SUCCEEDED, "Succeeded": SUCCEEDED, "Failed": FAILED,
            "Cancelled": CANCELLED}
OPS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda value, operand: value == operand,
    "neq": lambda value, operand: value != operand,
    "in": lambda value, operand: value in operand,
}


class SearchError(ValueError):
    """A malformed search; `field` is what the 400's `errors[].field` names."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def column(job: JobRecord, name: str, now: float) -> Any:
    """A row's column value."""
    body = job.data.body
    values = {
        "project_id": lambda: body.get("projectId"),
        "tool_key": lambda: job.data.tool_key,
        "status": lambda: STATUS_BY_PHASE[job.phase(now)],
        "compute_job_id": lambda: job.remote_id,
        "app": lambda: body.get("app"),
        "session": lambda: body.get("session"),
    }
    return values[name]()


COLUMNS = ("project_id", "tool_key", "status", "compute_job_id", "app", "session")


@dataclass(frozen=True)
class Prop:
    column: str
    op: str
    value: Any

    def matches(self, job: JobRecord, now: float) -> bool:
        return OPS[self.op](column(job, self.column, now), self.value)


@dataclass(frozen=True)
class Search:
    """A parsed search request."""

    props: tuple[Prop, ...]
    limit: int
    offset: int
    select: tuple[str, ...] | None
    with_total_count: bool
    include_hidden: bool

    def values(self, name: str) -> set[Any] | None:
        """The values column ``name`` must take (from `eq`/`in`), or None if unconstrained."""
        found: set[Any] | None = None
        for prop in self.props:
            if prop.column == name and prop.op in ("eq", "in"):
                wanted = set(prop.value) if prop.op == "in" else {prop.value}
                found = wanted if found is None else found & wanted
        return found


def parse_search(body: Any) -> Search:
    """A Search from the request body; raises SearchError."""
    if not isinstance(body, dict):
        raise SearchError("request body must be a JSON object", "body")
    spec = body.get("filter", {})
    if not isinstance(spec, dict):
        raise SearchError("filter must be an object", "filter")
    if "props" in spec:
        raw = spec["props"]
        if not isinstance(raw, list):
            raise SearchError("filter.props must be a list", "filter")
    else:  # the top-level column grammar: {"<column>": {"<op>": value}}
        if not all(isinstance(ops, dict) for ops in spec.values()):
            raise SearchError("filter columns take {op: value}", "filter")
        raw = [{"column": name, "op": op, "value": value}
               for name, ops in spec.items() for op, value in ops.items()]
    select = body.get("select")
    if select is not None and not (isinstance(select, list)
                                   and all(isinstance(s, str) for s in select)):
        raise SearchError("select must be a list of column names", "select")
    return Search(
        props=tuple(_prop(item) for item in raw),
        limit=_int(body, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT),
        offset=_int(body, "offset", 0, 0, None),
        select=tuple(select) if select is not None else None,
        with_total_count=body.get("with_total_count") is True,
        include_hidden=body.get("include_hidden") is True,
    )


def _prop(item: Any) -> Prop:
    if not isinstance(item, dict) or set(item) - {"column", "op", "value"}:
        raise SearchError("each prop is {column, op, value}", "filter")
    name, op, value = item.get("column"), item.get("op"), item.get("value")
    if name not in COLUMNS:
        raise SearchError(f"unsupported column {name!r}", "filter")
    if op not in OPS:
        raise SearchError(f"unsupported op {op!r} on {name}", "filter")
    if op == "in" and not isinstance(value, list):
        raise SearchError(f"{name} in needs a list", "filter")
    return Prop(name, op, frozenset(value) if op == "in" else value)


def _int(body: dict[str, Any], name: str, default: int, low: int, high: int | None) -> int:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (
            high is not None and value > high):
        raise SearchError(f"{name} must be an integer from {low} to {high or 'infinity'}", name)
    return value


def run_search(search: Search, jobs: dict[str, JobRecord], index: JobIndex, org: str,
               now: float, hidden_scopes: set[tuple[str, str]]) -> dict[str, Any]:
    """The page of rows and, when asked, the total count."""
    rows, total = _matching(search, jobs, index, org, now, hidden_scopes)
    data = [_select(render_row(job, now), search.select) for job in rows]
    meta = {"count": total} if search.with_total_count else {}
    return {"data": data, "meta": meta}


def _matching(search: Search, jobs: dict[str, JobRecord], index: JobIndex, org: str,
              now: float, hidden_scopes: set[tuple[str, str]]) -> tuple[list[JobRecord], int]:
    projects = search.values("project_id")
    statuses = search.values("status")
    ids = search.values("compute_job_id")
    if ids is not None:
        candidates: Iterable[JobRecord] = [jobs[i] for i in sorted(ids) if i in jobs]
    elif (projects is not None and len(projects) == 1 and statuses
          and statuses <= set(TERMINAL)):
        scope = (org, next(iter(projects)))
        if search.include_hidden or scope not in hidden_scopes:
            return _ended_page(search, index, scope, statuses, now)
        candidates = index.created(scope)
    elif projects is not None and len(projects) == 1:
        candidates = index.created((org, next(iter(projects))))
    else:
        candidates = sorted(jobs.values(), key=lambda job: (job.created_at, job.remote_id))
    found = [job for job in candidates if _visible(job, org, search)
             and all(prop.matches(job, now) for prop in search.props)]
    return found[search.offset : search.offset + search.limit], len(found)


def _ended_page(search: Search, index: JobIndex, scope: tuple[str, str], statuses: set[str],
                now: float) -> tuple[list[JobRecord], int]:
    """Ended rows straight from the index: the phases' lists merged in creation order."""
    phases = sorted({TERMINAL[status] for status in statuses})
    lists = [index.in_phase(scope, phase, now) for phase in phases]
    others = [p for p in search.props if p.column not in ("project_id", "status")]
    merged = heapq.merge(*lists, key=lambda job: (job.created_at, job.remote_id))
    if not others:
        page = list(islice(merged, search.offset, search.offset + search.limit))
        return page, sum(len(found) for found in lists)
    found = [job for job in merged if all(prop.matches(job, now) for prop in others)]
    return found[search.offset : search.offset + search.limit], len(found)


def _visible(job: JobRecord, org: str, search: Search) -> bool:
    if job.data.org != org or job.plan.unlisted:
        return False
    return search.include_hidden or job.data.body.get("visibility") != "hidden"


def render_row(job: JobRecord, now: float) -> dict[str, Any]:
    """One data-platform execution row (snake_case, unlike the tools service)."""
    body = job.data.body
    return {
        "id": f"dp-{job.remote_id}",
        "compute_job_id": job.remote_id,
        "tool_key": job.data.tool_key,
        "tool_version": job.data.tool_version,
        "status": STATUS_BY_PHASE[job.phase(now)],
        "project_id": body.get("projectId"),
        "created_at": iso(job.created_at),
        "started_at": iso(job.started_at(now)),
        "completed_at": iso(job.finished_at(now)),
        "tags": {"app": body.get("app"), "session": body.get("session")},
        "compute_metadata": {"userInputs": job.data.inputs()},
    }


def _select(row: dict[str, Any], select: tuple[str, ...] | None) -> dict[str, Any]:
    return row if select is None else {key: row[key] for key in select if key in row}
