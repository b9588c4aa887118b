"""Reading a spec file into an :class:`~.spec.ApiSpec`, checked before anything uses it.

:func:`load_spec` reads a TOML file and checks everything that can be checked without the
API (fields, types, placeholders, the status mapping, how creation stays at most once), so
a bad spec is refused at start-up with ``<file>: <field>: <reason>``, never half-used.
Each table of the file has its own reader below; :mod:`.reader` checks single fields.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from worker.providers.declarative.reader import SpecError, Table
from worker.providers.declarative.spec import (
    AT_MOST_ONCE,
    PARAM_TYPES,
    ApiSpec,
    Create,
    Find,
    Listing,
    Param,
    Request,
    Result,
    Status,
)
from worker.providers.declarative.templates import known_name, placeholders
from worker.providers.types import RemoteState

NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
CREATE_METHODS = ("POST", "PUT")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")

__all__ = ["SpecError", "load_spec"]


def load_spec(path: Path) -> ApiSpec:
    """Reads and checks one spec file; raises ``SpecError`` (one line) when it is unusable."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}: cannot be read: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: not valid TOML: {exc}") from exc
    top = Table(path, data)
    name = top.text("name", required=True)
    if not NAME.fullmatch(name):
        top.fail("name", f"must be lower case letters, digits and _ (at most 40), got {name!r}")
    base_url_env, base_url = _connection(top.table("connection", required=True))
    header, env, fmt = _auth(top.table("auth", required=True))
    kinds = _kinds(top.table("kinds", required=True))
    create = _create(top.table("create", required=True), kinds)
    states = _states(top.table("states", required=True))
    status = _status(top.table("status", required=True))
    result = _result(top.table("result"))
    cancel_table = top.table("cancel")
    cancel = _request(cancel_table, "POST", needs_id=True) if cancel_table else None
    if cancel_table:
        cancel_table.done()
    listing = _listing(top.table("list"))
    find = _find(top.table("find"), listing, top, create)
    top.done()
    return ApiSpec(name=name, file=path, base_url_env=base_url_env, base_url=base_url,
                   auth_header=header, auth_env=env, auth_format=fmt, kinds=kinds,
                   create=create, status=status, states=states, result=result, cancel=cancel,
                   listing=listing, find=find)


def _connection(t: Table) -> tuple[str, str | None]:
    env = t.env_name("base_url_env", required=True)
    url = t.text("base_url")
    if url is not None and urlsplit(url).scheme not in ("http", "https"):
        t.fail("base_url", f"must be an http(s) URL, got {url!r}")
    t.done()
    return env, url


def _auth(t: Table) -> tuple[str, str, str]:
    header = t.text("header", required=True)
    if not re.fullmatch(r"[A-Za-z0-9-]+", header):
        t.fail("header", f"must be an HTTP header name, got {header!r}")
    env = t.env_name("env", required=True)
    fmt = t.text("format", "{secret}")
    if fmt.count("{secret}") != 1:
        t.fail("format", "must contain {secret} exactly once")
    t.done()
    return header, env, fmt


def _kinds(t: Table) -> dict[str, dict[str, Param]]:
    if not t.data:
        t.fail(None, "must declare at least one kind")
    kinds = {}
    for kind in list(t.data):
        if not NAME.fullmatch(kind):
            t.fail(kind, "a kind is lower case letters, digits and _")
        kind_table = t.table(kind, required=True)
        params_table = kind_table.table("params", required=True)
        kinds[kind] = {name: _param(params_table, name) for name in list(params_table.data)}
        params_table.done()
        kind_table.done()
    t.done()
    return kinds


def _param(t: Table, name: str) -> Param:
    rule = t.table(name, required=True)
    kind = rule.choice("type", PARAM_TYPES, required=True)
    required = rule.get("required", bool, False)
    rule.done()
    return Param(kind, required)


def _request(t: Table, method: str, *, needs_id: bool, methods: tuple[str, ...] = METHODS,
             body: bool = True) -> Request:
    """The ``method``/``path``/``query``/``body`` of a request template."""
    chosen = t.choice("method", methods, method)
    path = t.text("path", required=True)
    if not path.startswith("/"):
        t.fail("path", f"must start with /, got {path!r}")
    if needs_id and "{remote_id}" not in path:
        t.fail("path", "must contain {remote_id}")
    query = t.get("query", dict, {})
    template = t.get("body", dict) if body else None
    for key, value in (("path", path), ("query", query), ("body", template)):
        for name, _ in placeholders(value):
            if not known_name(name) or (name == "remote_id" and not needs_id):
                t.fail(key, f"unknown placeholder {{{name}}}")
    return Request(chosen, path, query, template)


def _create(t: Table, kinds: Mapping[str, Mapping[str, Param]]) -> Create:
    request = _request(t, "POST", needs_id=False, methods=CREATE_METHODS)
    _check_params_named(t, request, kinds)
    mode = t.choice("at_most_once", AT_MOST_ONCE, required=True)
    header = t.text("idempotency_header")
    if mode == "idempotency-key" and header is None:
        t.fail("idempotency_header", 'is required when at_most_once = "idempotency-key"')
    if mode != "idempotency-key" and header is not None:
        t.fail("idempotency_header", 'is only used with at_most_once = "idempotency-key"')
    if mode == "tag" and ("job_id", False) not in placeholders([request.body, request.query]):
        t.fail("body", 'must carry "{job_id}" when at_most_once = "tag"')
    create = Create(request, mode, header, t.text("id", required=True), t.text("state"))
    t.done()
    return create


def _check_params_named(t: Table, request: Request, kinds: Mapping[str, Mapping[str, Param]]):
    """Every ``{params.X}`` names a declared param, and a bare one a param every kind needs."""
    for name, optional in placeholders([request.query, request.body]):
        if not name.startswith("params."):
            continue
        param = name.split(".")[1]
        where = "body" if name in {n for n, _ in placeholders(request.body)} else "query"
        rules = [params.get(param) for params in kinds.values()]
        if all(rule is None for rule in rules):
            shown = f"{{{name}?}}" if optional else f"{{{name}}}"
            t.fail(where, f"{shown} names no declared param")
        if not optional and any(rule is None or not rule.required for rule in rules):
            t.fail(where, f"{{{name}}} is not required in every kind: write {{{name}?}}")


def _status(t: Table) -> Status:
    request = _request(t, "GET", needs_id=True, body=False)
    status = Status(request, t.text("state", required=True), t.text("detail"), t.text("id"),
                    t.text("poll_hint"), t.choice("poll_hint_unit", ("s", "ms"), "s"))
    t.done()
    return status


def _states(t: Table) -> dict[str, RemoteState]:
    names = tuple(state.value for state in RemoteState)
    states = {raw: RemoteState(t.choice(raw, names, required=True)) for raw in list(t.data)}
    if RemoteState.SUCCEEDED not in states.values():
        t.fail(None, 'no status value maps to "succeeded"')
    t.done()
    return states


def _result(t: Table | None) -> Result:
    if t is None:
        return Result(None, None, None, "name", "url")
    request = _request(t, "GET", needs_id=True, body=False) if t.has("path") else None
    result = Result(request, t.text("data"), t.text("files"), t.text("file_name", "name"),
                    t.text("file_url", "url"))
    if request is None and (t.has("method") or t.has("query")):
        t.fail("path", "is required with method or query")
    t.get("method", str), t.get("query", dict)
    t.done()
    return result


def _listing(t: Table | None) -> Listing | None:
    if t is None:
        return None
    request = _request(t, "GET", needs_id=False, body=False)
    cursor_param, next_cursor = t.text("cursor_param"), t.text("next_cursor")
    if (cursor_param is None) != (next_cursor is None):
        t.fail("cursor_param" if cursor_param is None else "next_cursor",
               "cursor_param and next_cursor go together")
    max_ids = t.get("max_ids", int, 50)
    if max_ids < 1:
        t.fail("max_ids", f"must be at least 1, got {max_ids}")
    listing = Listing(request, t.text("items", required=True), t.text("id", required=True),
                      t.text("state", required=True), t.text("detail"), t.text("ids_param"),
                      max_ids, cursor_param, next_cursor)
    t.done()
    return listing


def _find(t: Table | None, listing: Listing | None, top: Table, create: Create) -> Find | None:
    if t is None:
        if create.at_most_once == "tag":
            top.fail("find", 'is required when create.at_most_once = "tag"')
        return None
    if listing is None:
        top.fail("list", "is required by [find], which is a filtered listing")
    query = t.get("query", dict, required=True)
    if ("job_id", False) not in placeholders(query):
        t.fail("query", "must filter by {job_id}")
    for name, _ in placeholders(query):
        if name != "job_id":
            t.fail("query", f"unknown placeholder {{{name}}} (only {{job_id}} here)")
    find = Find(query, t.text("tag", required=True))
    t.done()
    return find
