"""A spec file as typed values: what the declarative provider needs to speak one API.

:class:`ApiSpec` and its parts are what :func:`~.loader.load_spec` makes of a checked TOML
file; the provider reads only these. The format is documented in the README ("Adding a
platform") with ``examples/providers/jobsapi.toml`` as the complete example. No credential
is held here: only the *name* of the variable that holds it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from worker.providers.types import RemoteState

PARAM_TYPES = ("string", "integer", "number", "boolean", "object", "array")
AT_MOST_ONCE = ("idempotency-key", "tag", "none")


@dataclass(frozen=True)
class Request:
    """A request template: method, path under the base URL, query and JSON body."""

    method: str
    path: str
    query: Mapping[str, Any]
    body: Any = None


@dataclass(frozen=True)
class Param:
    """One job param: its JSON type and whether a job line must have it."""

    type: str
    required: bool


@dataclass(frozen=True)
class Create:
    request: Request
    at_most_once: str  # one of AT_MOST_ONCE
    idempotency_header: str | None
    id: str  # path of the new job's id in the answer
    state: str | None  # path of its status in the answer, if the answer has one


@dataclass(frozen=True)
class Status:
    request: Request
    state: str
    detail: str | None
    id: str | None = None  # where the answer repeats the job's id, checked against the asked
    poll_hint: str | None = None  # where the answer suggests when to ask again
    poll_hint_unit: str = "s"  # "s" or "ms"


@dataclass(frozen=True)
class Result:
    request: Request | None  # None: the status answer is the result
    data: str | None  # path of the data in the answer (None: the whole answer)
    files: str | None  # path of a list of files
    file_name: str
    file_url: str


@dataclass(frozen=True)
class Listing:
    request: Request
    items: str
    id: str
    state: str
    detail: str | None
    ids_param: str | None
    max_ids: int
    cursor_param: str | None
    next_cursor: str | None


@dataclass(frozen=True)
class Find:
    query: Mapping[str, Any]
    tag: str  # path, in each listed item, of the value that must equal our job id


@dataclass(frozen=True)
class ApiSpec:
    """One API described by a spec file."""

    name: str
    file: Path
    base_url_env: str
    base_url: str | None
    auth_header: str
    auth_env: str
    auth_format: str
    kinds: Mapping[str, Mapping[str, Param]]
    create: Create
    status: Status
    states: Mapping[str, RemoteState]
    result: Result
    cancel: Request | None
    listing: Listing | None
    find: Find | None

    @property
    def supports_find(self) -> bool:
        """A lost create can be settled: by the idempotency key, or by a tag search."""
        return self.create.at_most_once != "none"
