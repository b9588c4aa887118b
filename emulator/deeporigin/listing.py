"""The execution list: `?page=&pageSize=&order=&filter=` over the job table.

`filter` is a JSON string in MikroORM style. The official client sends only
`tool.toolManifest.key`, `session`, `projectId` and `createdAt.$gt`; the emulator also takes
`app`, `status`, `executionId` (so a fleet can ask for many ids in one call with
`{"executionId": {"$in": [...]}}`), `tool.key`, `tool.version`, `name`, `tag`, `clusterId`.
A field is either a plain value (equality), or an object of operators `$eq $ne $in $nin $gt
$gte $lt $lte`. `createdAt` operands are parsed as timestamps, never compared as strings.
Unknown fields or operators are a 400, not silently ignored.

Rows are ordered by the requested field then `executionId`, so pages never overlap; `count`
is the number of rows matching the filter across all pages (the client's paging relies on it).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from emulator.clock import JobRecord
from emulator.deeporigin.dto import STATUS_BY_PHASE
from emulator.index import JobIndex

# The client documents 10,000 as the largest page; its own fetch-all default is 1,000.
MAX_PAGE_SIZE = 10_000
DEFAULT_PAGE_SIZE = 1_000
Accessor = Callable[[JobRecord, float], Any]
Predicate = Callable[[JobRecord, float], bool]


def _body(field: str) -> Accessor:
    return lambda job, now: job.data.body.get(field)


FIELDS: dict[str, Accessor] = {
    "tool.toolManifest.key": lambda job, now: job.data.tool_key,
    "tool.key": lambda job, now: job.data.tool_key,
    "tool.version": lambda job, now: job.data.tool_version,
    "executionId": lambda job, now: job.remote_id,
    "status": lambda job, now: STATUS_BY_PHASE[job.phase(now)],
    "createdAt": lambda job, now: job.created_at,
    **{name: _body(name) for name in ("session", "app", "projectId", "name", "tag", "clusterId")},
}
TIMESTAMP_FIELDS = frozenset({"createdAt"})
ORDER_FIELDS: dict[str, Accessor] = {
    "createdAt": lambda job, now: job.created_at,
    "executionId": lambda job, now: job.remote_id,
    "startedAt": lambda job, now: job.started_at(now),
    "completedAt": lambda job, now: job.finished_at(now),
}
OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "$eq": lambda value, operand: value == operand,
    "$ne": lambda value, operand: value != operand,
    "$in": lambda value, operand: value in operand,
    "$nin": lambda value, operand: value not in operand,
    "$gt": lambda value, operand: value is not None and value > operand,
    "$gte": lambda value, operand: value is not None and value >= operand,
    "$lt": lambda value, operand: value is not None and value < operand,
    "$lte": lambda value, operand: value is not None and value <= operand,
}


class QueryError(ValueError):
    """The list query is malformed; the message is safe to return as a 400."""


@dataclass(frozen=True)
class ListQuery:
    """A parsed list request."""

    page: int
    page_size: int
    order_field: str
    descending: bool
    predicates: tuple[Predicate, ...]
    ids: frozenset[str] | None  # from executionId $eq/$in: look up instead of scanning
    window: tuple[str, float | None] | None = None  # (projectId, createdAt $gt) only: indexed

    def run(
        self, jobs: Mapping[str, JobRecord], org: str, now: float, index: JobIndex | None = None
    ) -> tuple[list[JobRecord], int]:
        """Matching rows for the requested page, and the total count across pages."""
        if index is not None and self.window is not None and self.order_field == "createdAt":
            return self._page_of(index.created((org, self.window[0]), self.window[1]))
        candidates: Iterable[JobRecord | None] = (
            jobs.values() if self.ids is None else (jobs.get(i) for i in self.ids)
        )
        rows = [
            job for job in candidates
            if job is not None and job.data.org == org and not job.plan.unlisted
            and all(p(job, now) for p in self.predicates)
        ]
        accessor = ORDER_FIELDS[self.order_field]
        missing = -math.inf if self.descending else math.inf  # nulls sort last either way

        def sort_key(job: JobRecord) -> tuple[Any, str]:
            value = accessor(job, now)
            return (missing if value is None else value, job.remote_id)

        rows.sort(key=sort_key, reverse=self.descending)
        start = self.page * self.page_size
        return rows[start : start + self.page_size], len(rows)

    def _page_of(self, oldest_first: list[JobRecord]) -> tuple[list[JobRecord], int]:
        """One page of rows already in creation order: a slice, whatever the total."""
        total, start = len(oldest_first), self.page * self.page_size
        if not self.descending:
            return oldest_first[start : start + self.page_size], total
        end = total - start
        return oldest_first[max(end - self.page_size, 0) : max(end, 0)][::-1], total


def parse_query(query: Mapping[str, str]) -> ListQuery:
    """Build a ListQuery from the URL query; raises QueryError."""
    page = _int_param(query, "page", 0, 0, None)
    page_size = _int_param(query, "pageSize", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    order_field, descending = _parse_order(query.get("order", "createdAt desc"))
    predicates: list[Predicate] = []
    ids: frozenset[str] | None = None
    spec: dict[str, Any] = {}
    if query.get("filter"):
        try:
            spec = json.loads(query["filter"])
        except ValueError as exc:
            raise QueryError("filter is not valid JSON") from exc
        if not isinstance(spec, dict):
            raise QueryError("filter must be a JSON object")
        for path, operators in _flatten(spec, ""):
            predicates.extend(_predicate(path, op, operand) for op, operand in operators.items())
            ids = _id_candidates(path, operators, ids)
    return ListQuery(page, page_size, order_field, descending, tuple(predicates), ids,
                     _window(spec))


def _window(spec: dict[str, Any]) -> tuple[str, float | None] | None:
    """``(projectId, createdAt $gt)`` when the filter is exactly that (what a sweep and the
    official client send): the index answers it without a scan. None for anything else."""
    project, created = spec.get("projectId"), spec.get("createdAt")
    if not isinstance(project, str) or set(spec) - {"projectId", "createdAt"}:
        return None
    if created is None:
        return project, None
    if isinstance(created, dict) and set(created) == {"$gt"}:
        return project, parse_timestamp(created["$gt"])
    return None


def _int_param(
    query: Mapping[str, str], name: str, default: int, low: int, high: int | None
) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise QueryError(f"{name} must be an integer") from exc
    if value < low or (high is not None and value > high):
        raise QueryError(f"{name} must be between {low} and {high if high else 'infinity'}")
    return value


def _parse_order(text: str) -> tuple[str, bool]:
    parts = text.split()
    field = parts[0].rstrip("?") if parts else ""
    direction = parts[1].lower() if len(parts) > 1 else "asc"
    if field not in ORDER_FIELDS or direction not in ("asc", "desc") or len(parts) > 2:
        raise QueryError(f"order must be '<{'|'.join(ORDER_FIELDS)}> [asc|desc]', got {text!r}")
    return field, direction == "desc"


def _flatten(spec: dict[str, Any], prefix: str) -> Iterable[tuple[str, dict[str, Any]]]:
    """Yield (dotted field, {operator: operand}) pairs from a nested filter object."""
    for key, value in spec.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value and all(k.startswith("$") for k in value):
            yield path, value
        elif isinstance(value, dict) and value and not any(k.startswith("$") for k in value):
            yield from _flatten(value, path + ".")
        else:
            yield path, {"$eq": value}


def _predicate(path: str, op: str, operand: Any) -> Predicate:
    accessor = FIELDS.get(path)
    if accessor is None:
        raise QueryError(f"unsupported filter field {path!r}")
    compare = OPERATORS.get(op)
    if compare is None:
        raise QueryError(f"unsupported operator {op!r} on {path!r}")
    if op in ("$in", "$nin") and not isinstance(operand, list):
        raise QueryError(f"{path}.{op} needs a list")
    if path in TIMESTAMP_FIELDS and isinstance(operand, list):
        operand = [parse_timestamp(value) for value in operand]
    elif path in TIMESTAMP_FIELDS:
        operand = parse_timestamp(operand)
    elif op in ("$in", "$nin") and all(isinstance(v, (str, int, float)) for v in operand):
        operand = set(operand)
    return lambda job, now: compare(accessor(job, now), operand)


def _id_candidates(
    path: str, operators: dict[str, Any], ids: frozenset[str] | None
) -> frozenset[str] | None:
    """Narrow the rows to scan when the filter names execution ids exactly."""
    if path != "executionId":
        return ids
    found: frozenset[str] | None = ids
    for op, operand in operators.items():
        if op in ("$eq", "$in"):
            values = frozenset(str(v) for v in (operand if op == "$in" else [operand]))
            found = values if found is None else found & values
    return found


def parse_timestamp(value: Any) -> float:
    """Epoch seconds from an ISO-8601 string (any precision, `Z` or an offset; naive = UTC)."""
    if not isinstance(value, str):
        raise QueryError(f"expected an ISO-8601 timestamp string, got {value!r}")
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as exc:
        raise QueryError(f"not an ISO-8601 timestamp: {value!r}") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()
