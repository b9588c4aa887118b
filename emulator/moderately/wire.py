"""Moderately AI wire pieces shared by every handler: ids, times, errors, the request context.

The real API's error body is the nested envelope of its OpenAPI document
(`{"error": {"code", "message", "details", "timestamp", "path", "requestId"}}`); the official
client reads only a *top-level* `message`, so the emulator copies the message there too. It
never puts `details` at the top level: that would turn the client's `APIError` into a
`ValidationError`, which the real server never causes.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from emulator.clock import CANCELLED, FAILED, QUEUED, QUOTED, RUNNING, SUCCEEDED

NANOID_ALPHABET = string.ascii_letters + string.digits + "_-"
NANOID_LENGTH = 21  # the platform's ids are 21-character nanoids
TEAMS_KEY = "moderately.teams"  # where the guard leaves the caller's teams on the request
STATUS_BY_PHASE = {
    QUOTED: "pending",  # never produced here (no quotes on this platform), kept total
    QUEUED: "pending",
    RUNNING: "running",
    SUCCEEDED: "completed",
    FAILED: "failed",
    CANCELLED: "cancelled",
}
CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    409: "CONFLICT",
    429: "RATE_LIMITED",
}


class BadRequest(ValueError):
    """A request the server refuses with 400; `field` names the offending body key."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def new_id() -> str:
    """A fresh URL-safe nanoid (the client puts ids into paths unescaped)."""
    return "".join(secrets.choice(NANOID_ALPHABET) for _ in range(NANOID_LENGTH))


def derived_id(seed: str) -> str:
    """A stable nanoid-shaped id for `seed` (an agent's current configuration version)."""
    digest = hashlib.sha256(seed.encode()).digest()
    return "".join(NANOID_ALPHABET[b % len(NANOID_ALPHABET)] for b in digest[:NANOID_LENGTH])


def iso(timestamp: float | None) -> str | None:
    """`YYYY-MM-DDTHH:MM:SS.mmmZ` as in the API's examples, or None."""
    if timestamp is None:
        return None
    moment = datetime.fromtimestamp(timestamp, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def error(
    request: web.Request, status: int, message: str, details: Any = None
) -> web.Response:
    """The OpenAPI error envelope, plus a top-level `message` the official client reads."""
    body = {
        "error": {
            "code": CODES.get(status, "INTERNAL_ERROR" if status >= 500 else "BAD_REQUEST"),
            "message": message,
            "details": details,
            "timestamp": iso(datetime.now(UTC).timestamp()),
            "path": request.path,
            "requestId": new_id(),
        },
        "message": message,
    }
    return web.json_response(body, status=status)


def bad_request(request: web.Request, exc: BadRequest) -> web.Response:
    """A 400 for `exc`, with the field in `error.details` like a schema validation failure."""
    details = [{"field": exc.field, "message": str(exc)}] if exc.field else None
    return error(request, 400, str(exc), details)


def teams_of(request: web.Request) -> frozenset[str]:
    """The caller's teams, as the guard read them from `teamIds`."""
    return request[TEAMS_KEY]


def query_values(query: Mapping[str, str], *names: str) -> set[str]:
    """Every value of the first present alias among `names`: repeated keys or comma lists.

    `names` lists one parameter's spellings (`agentIds`, `agent_id`); the client mixes casings.
    """
    getall = getattr(query, "getall", None)
    for name in names:
        if name in query:
            raw: Iterable[str] = getall(name) if getall else [query[name]]
            return {part.strip() for item in raw for part in item.split(",") if part.strip()}
    return set()


async def json_body(request: web.Request, *, required: bool = True) -> dict[str, Any]:
    """The JSON object body; an absent body is `{}` unless `required`. Raises BadRequest."""
    if not request.can_read_body:
        if required:
            raise BadRequest("request body is required")
        return {}
    raw = await request.read()
    if not raw.strip() and not required:
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise BadRequest("request body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise BadRequest("request body must be a JSON object")
    return body


@dataclass(frozen=True)
class Limits:
    """Bounds of one integer body field, as the OpenAPI document states them."""

    low: int
    high: int | None = None

    def check(self, body: Mapping[str, Any], key: str) -> int | None:
        """The field's value (None when absent or null); raises BadRequest when out of range."""
        value = body.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise BadRequest(f"{key} must be an integer", key)
        if value < self.low or (self.high is not None and value > self.high):
            upper = f" and at most {self.high}" if self.high is not None else ""
            raise BadRequest(f"{key} must be at least {self.low}{upper}", key)
        return value


def text_field(
    body: Mapping[str, Any], key: str, *, low: int = 0, high: int | None = None
) -> str | None:
    """A string field's value (None when absent); raises BadRequest on type or length."""
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRequest(f"{key} must be a string", key)
    if len(value) < low or (high is not None and len(value) > high):
        raise BadRequest(f"{key} must be {low}-{high} characters, got {len(value)}", key)
    return value
