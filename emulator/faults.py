"""Fault injection and request accounting at the edge of each provider.

Every request under a provider prefix goes through `edge_middleware` first: it is counted (by
stable endpoint label), delayed by the configured latency, and then may be hit by at most one
fault, drawn as a slice of a single random number so the configured rates are exact:

| kind      | what the client sees                          | processed? |
|-----------|-----------------------------------------------|------------|
| `5xx`     | 500, 502 or 503 with a JSON error body         | no         |
| `429`     | 429 with a `Retry-After` header                 | no         |
| `drop`    | connection closed without any response          | **yes**    |
| `slow`    | the normal answer, after `slow_s` seconds       | yes (even if the client gave up) |
| `garbage` | 200 with an HTML error page or truncated JSON   | yes        |

Hostile answers (a huge body, a redirect to another host, a path-like file name, presigned
URLs pointing elsewhere) are not drawn at random: `emulator/hostile.py` applies them to every
answer while its `hostile` setting names them, after any fault drawn here.

`drop` and `garbage` are the cases that matter for non-idempotent POSTs: the job exists but
the client cannot know it. A job whose `_emulator` override says `lose_answer` has its create
dropped the same way, so a test can lose exactly the answers it chooses. The control
endpoints (`/_emulator/*`) sit outside every provider and never see faults.

Each request is also counted under its credential (`credentials.credential_of`: a hash, never the
secret); the label stays in `CURRENT_CREDENTIAL` while the handler runs, so a job the handler
creates is put down to the credential that created it.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web

from emulator import hostile
from emulator.context import CURRENT_CREDENTIAL, LOSE_ANSWER
from emulator.credentials import credential_of

if TYPE_CHECKING:
    from emulator.context import ProviderContext
    from emulator.settings import ProviderSettings

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SERVER_ERRORS = (500, 502, 503)
# Exponential latency has a long tail; cap it so "mean 50 ms" never turns into a minute.
LATENCY_CAP_FACTOR = 10.0
GARBAGE_HTML = (
    b"<html><head><title>502 Bad Gateway</title></head><body>"
    b"<center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>"
)


def draw_fault(settings: ProviderSettings, rng: random.Random) -> str | None:
    """Pick at most one fault kind for a request, or None for a clean answer."""
    roll = rng.random()
    threshold = 0.0
    for kind, rate in (
        ("5xx", settings.fault_5xx),
        ("429", settings.fault_429),
        ("drop", settings.fault_drop),
        ("slow", settings.fault_slow),
        ("garbage", settings.fault_garbage),
    ):
        threshold += rate
        if roll < threshold:
            return kind
    return None


def endpoint_label(request: web.Request, prefix: str) -> str:
    """A stable label such as `GET /tools/{org}/tools/executions/{execution_id}`."""
    match_info = request.match_info
    resource = match_info.route.resource
    if resource is None or match_info.http_exception is not None:
        return f"{request.method} (unmatched)"
    path = resource.canonical.removeprefix(prefix) or "/"
    return f"{request.method} {path}"


def edge_middleware(ctx: ProviderContext) -> Callable[..., Awaitable[web.StreamResponse]]:
    """Build the counting + fault-injecting middleware for one provider's sub-application."""

    @web.middleware
    async def edge(request: web.Request, handler: Handler) -> web.StreamResponse:
        now = ctx.clock.now()
        credential = credential_of(request.headers)
        CURRENT_CREDENTIAL.set(credential)
        LOSE_ANSWER.set(False)
        ctx.stats.count_request(endpoint_label(request, ctx.prefix), now, credential)
        ctx.global_rate.hit(now)
        settings = ctx.settings
        if settings.latency_ms > 0:
            await asyncio.sleep(latency_s(settings.latency_ms, ctx.rng))
        fault = draw_fault(settings, ctx.rng)
        if fault is not None:
            ctx.stats.count_fault(fault)
        if fault == "5xx":
            status = ctx.rng.choice(SERVER_ERRORS)
            response = error_response(status, "injected server error")
        elif fault == "429":
            response = error_response(429, "too many requests (injected)")
            response.headers["Retry-After"] = format_retry_after(settings.retry_after)
        else:
            response = await _processed(request, handler, ctx, fault)
            if fault == "drop" or LOSE_ANSWER.get():
                if request.transport is not None:
                    request.transport.close()
                ctx.stats.count_response("dropped")
                return response
        ctx.stats.count_response(response.status)
        return response

    return edge


async def _processed(
    request: web.Request, handler: Handler, ctx: ProviderContext, fault: str | None
) -> web.StreamResponse:
    """The handler's answer (slowed, garbled or made hostile as configured)."""
    settings = ctx.settings
    away = hostile.redirect_away(request, settings)
    if away is not None:
        return away
    if fault == "slow":
        await asyncio.sleep(settings.slow_s)
    response = await hostile.spoil(
        request, await call_handler(handler, request), settings, ctx.prefix
    )
    if fault == "garbage" and not response.prepared:
        return garbage_response(response, ctx.rng)
    return response


async def call_handler(handler: Handler, request: web.Request) -> web.StreamResponse:
    """Run the handler, turning aiohttp's HTTP exceptions into JSON error responses."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        return error_response(exc.status, exc.reason)


def error_response(status: int, message: str) -> web.Response:
    """The JSON error body every emulated API uses: `{"message": ...}`."""
    return web.json_response({"message": message}, status=status)


def format_retry_after(seconds: float) -> str:
    """Whole seconds as HTTP wants; fractions are kept for fast tests (non-standard)."""
    return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"


def latency_s(mean_ms: float, rng: random.Random) -> float:
    """One added latency draw, exponential around `mean_ms`, in seconds."""
    return min(rng.expovariate(1.0 / mean_ms), mean_ms * LATENCY_CAP_FACTOR) / 1000.0


def garbage_response(original: web.StreamResponse, rng: random.Random) -> web.Response:
    """A 200 that breaks JSON parsing: a proxy's HTML page or the real body cut in half."""
    body = getattr(original, "body", None)
    if isinstance(body, bytes) and len(body) > 1 and rng.random() < 0.5:
        return web.Response(body=body[: len(body) // 2], content_type="application/json")
    return web.Response(body=GARBAGE_HTML, content_type="text/html")
