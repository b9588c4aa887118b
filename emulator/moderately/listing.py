"""Offset pagination for the three list endpoints the official client uses.

The client sends snake_case (`page_size`, `order_by=created_at`) for agent executions and
files and camelCase (`pageSize`, `orderBy=createdAt`) for pipeline executions; the OpenAPI
document names only the camelCase forms. Both are accepted everywhere, and unknown
parameters are ignored, as the real server appears to do.

Rows sort by the requested field, ties broken by insertion order (creation times collide at
millisecond resolution), so pages never overlap or skip. The answer is always
`{"items": [...], "pagination": {page, pageSize, totalItems, totalPages, hasNextPage,
hasPreviousPage}}`, camelCase, as the OpenAPI document requires.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from emulator.moderately.wire import BadRequest

Row = TypeVar("Row")


@dataclass(frozen=True)
class ListSpec:
    """One endpoint's paging rules: size bounds, sortable fields and default order."""

    default_size: int
    max_size: int
    order_fields: Mapping[str, Callable[[Any, float], Any]]  # camelCase name -> key(row, now)
    default_order: str = "createdAt"
    default_desc: bool = True


@dataclass(frozen=True)
class PageRequest:
    """A parsed `page`/`pageSize`/`orderBy`/`orderDirection`."""

    page: int
    size: int
    order: str
    descending: bool


def camel(name: str) -> str:
    """`created_at` -> `createdAt`; camelCase passes through."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def param(query: Mapping[str, str], name: str) -> str | None:
    """A parameter under its camelCase name or its snake_case twin."""
    snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in name)
    value = query.get(name, query.get(snake))
    return value if value not in (None, "") else None


def parse_page(query: Mapping[str, str], spec: ListSpec) -> PageRequest:
    """Read the paging parameters; raises BadRequest for out-of-range or unknown values."""
    page = _int(query, "page", 1, 1, None)
    size = _int(query, "pageSize", spec.default_size, 1, spec.max_size)
    order = camel(param(query, "orderBy") or spec.default_order)
    if order not in spec.order_fields:
        raise BadRequest(f"orderBy must be one of {', '.join(spec.order_fields)}", "orderBy")
    direction = (param(query, "orderDirection") or ("desc" if spec.default_desc else "asc"))
    if direction.lower() not in ("asc", "desc"):
        raise BadRequest("orderDirection must be asc or desc", "orderDirection")
    return PageRequest(page, size, order, direction.lower() == "desc")


def paginate(
    rows: Sequence[Row],
    request: PageRequest,
    spec: ListSpec,
    now: float,
    seq: Callable[[Row], int],
    render: Callable[[Row], dict[str, Any]],
) -> dict[str, Any]:
    """Sort, cut one page and wrap it with the pagination block."""
    key = spec.order_fields[request.order]
    missing = -math.inf if request.descending else math.inf  # nulls last either way

    def sort_key(row: Row) -> tuple[Any, int]:
        value = key(row, now)
        return (missing if value is None else value, seq(row))

    ordered = sorted(rows, key=sort_key, reverse=request.descending)
    start = (request.page - 1) * request.size
    page = [render(row) for row in ordered[start : start + request.size]]
    return _wrapped(page, request, len(ordered))


def page_of(
    ordered: Sequence[Row], request: PageRequest, render: Callable[[Row], dict[str, Any]]
) -> dict[str, Any]:
    """One page of rows already sorted ascending by the requested field (ties by insertion
    order), without sorting or reading the rest: the same answer :func:`paginate` gives."""
    total = len(ordered)
    start = (request.page - 1) * request.size
    if request.descending:
        cut = ordered[max(total - start - request.size, 0) : max(total - start, 0)][::-1]
    else:
        cut = ordered[start : start + request.size]
    return _wrapped([render(row) for row in cut], request, total)


def _wrapped(items: list[dict[str, Any]], request: PageRequest, total: int) -> dict[str, Any]:
    pages = math.ceil(total / request.size)
    return {
        "items": items,
        "pagination": {
            "page": request.page,
            "pageSize": request.size,
            "totalItems": total,
            "totalPages": pages,
            "hasNextPage": request.page < pages,
            "hasPreviousPage": request.page > 1,
        },
    }


def _int(query: Mapping[str, str], name: str, default: int, low: int, high: int | None) -> int:
    raw = param(query, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise BadRequest(f"{name} must be an integer", name) from exc
    if value < low or (high is not None and value > high):
        raise BadRequest(f"{name} must be between {low} and {high or 'infinity'}", name)
    return value
