"""Hostile answers: what a compromised or careless platform might send, to test our limits.

Switched on per provider with the `hostile` setting (comma-separated modes, through
`POST /_emulator/config` or `--set`). Unlike the faults in `faults.py` they are not drawn at
random: while a mode is on, every answer it applies to is hostile.

| mode | what the client sees |
|---|---|
| `huge_body` | every 2xx JSON answer streamed with `hostile_bytes` of leading spaces (valid JSON, just too big) |
| `redirect` | every API request (not presigned storage) answered `307` to the same path and query on `hostile_url` |
| `file_name` | every `file_path` in a JSON answer replaced by `hostile_name` (default `../../x`) |
| `presign_elsewhere` | presigned storage URLs in JSON answers point at `hostile_url` instead of here |
"""  # noqa: E501 - a table reads better unwrapped

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from emulator.settings import ProviderSettings

STORAGE_SEGMENT = "/_storage/"
PAD_CHUNK = b" " * (256 * 1024)


def modes(settings: ProviderSettings) -> frozenset[str]:
    """The hostile modes switched on for a provider."""
    return frozenset(m for m in settings.hostile.split(",") if m)


def redirect_away(request: web.Request, settings: ProviderSettings) -> web.Response | None:
    """A 307 to the other host for an API request in `redirect` mode, else None."""
    if "redirect" not in modes(settings) or STORAGE_SEGMENT in request.path:
        return None
    target = settings.hostile_url.rstrip("/") + request.path_qs
    return web.Response(status=307, headers={"Location": target})


async def spoil(
    request: web.Request, response: web.StreamResponse, settings: ProviderSettings, prefix: str
) -> web.StreamResponse:
    """The handler's answer made hostile by whichever answer-changing modes are on."""
    active = modes(settings)
    body = getattr(response, "body", None)
    is_json = isinstance(body, bytes) and response.content_type == "application/json"
    if not active or not is_json or not 200 <= response.status < 300:
        return response
    if "file_name" in active:
        body = json.dumps(_rename_files(json.loads(body), settings.hostile_name)).encode()
    if "presign_elsewhere" in active:
        here = f"{request.url.origin()}{prefix}{STORAGE_SEGMENT}".encode()
        body = body.replace(here, f"{settings.hostile_url.rstrip('/')}{prefix}"
                                  f"{STORAGE_SEGMENT}".encode())
    if "huge_body" in active:
        return await _stream_padded(request, response.status, body, int(settings.hostile_bytes))
    return web.Response(body=body, status=response.status, content_type="application/json")


def _rename_files(node: Any, name: str) -> Any:
    """The document with every `file_path` string set to `name`."""
    if isinstance(node, dict):
        return {k: name if k == "file_path" and isinstance(v, str) else _rename_files(v, name)
                for k, v in node.items()}
    if isinstance(node, list):
        return [_rename_files(item, name) for item in node]
    return node


async def _stream_padded(
    request: web.Request, status: int, body: bytes, pad: int
) -> web.StreamResponse:
    """`pad` bytes of whitespace, then the body, chunked with no Content-Length; stops
    quietly when the client hangs up (which is what a bounded reader does)."""
    stream = web.StreamResponse(status=status, headers={"Content-Type": "application/json"})
    await stream.prepare(request)
    try:
        sent = 0
        while sent < pad:
            chunk = PAD_CHUNK[: pad - sent]
            await stream.write(chunk)
            sent += len(chunk)
        await stream.write(body)
        await stream.write_eof()
    except (ConnectionResetError, ConnectionError):
        pass
    return stream
