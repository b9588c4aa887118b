"""Where ``requests`` exceptions and HTTP answers become the :mod:`worker.errors` tree.

One function per translation: :func:`error_for` (a non-2xx status), :func:`transport_error`
(a failed exchange), :func:`parse_json` (a 2xx body that is not JSON), :func:`read_bounded`
(a body past the size bound). Tasks never see ``requests`` or a status code.

Credentials stay out of messages: errors carry the method and the URL *path* (never the
query, which for presigned URLs is a signature), the platform's message and a redacted
body excerpt; headers are never formatted into anything.

Every error also says whether the request went unanswered (``ProviderError.unanswered``):
sent and no usable answer back (a timeout after sending, a dropped connection, a 2xx body
we cannot read), so the platform may have acted on it. An error status is an answer; a
failure to connect, or our own limiter, happens before sending. That fact, not the shape
of the exception, is what :meth:`Provider.create` reports as ``Unknown`` or ``Refused``.
"""

from __future__ import annotations

import json as jsonlib
import math
import re
import time
import zlib
from collections.abc import Mapping
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3

from worker.errors import (
    AuthError,
    BadResponse,
    PermanentError,
    ProviderError,
    RateLimited,
    TransientError,
    UnsafeAnswer,
    excerpt,
)

_MESSAGE_KEYS = ("message", "error", "detail")  # where platforms put their own words
_TRANSIENT_TRANSPORT = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)
# Failures that happen before a request leaves: the platform cannot have seen it.
_NOT_SENT = (
    requests.ConnectTimeout,
    requests.exceptions.SSLError,
    requests.exceptions.InvalidURL,
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidSchema,
    requests.exceptions.InvalidHeader,
)
_NO_CONNECTION = (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError)
_QUERY = re.compile(r"\?[^\s'\")]*")
READ_CHUNK_BYTES = 64 * 1024
MB = 1024 * 1024


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds a ``Retry-After`` header asks for (delta-seconds or an HTTP date), else None."""
    if not value or not value.strip():
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value.strip())
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, when.timestamp() - now)
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def platform_message(response: requests.Response) -> str:
    """The platform's own words: ``message``, then ``error``, then ``detail``, else the raw text."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, Mapping):
        for key in _MESSAGE_KEYS:
            value = body.get(key)
            if value:
                return excerpt(value if isinstance(value, str) else jsonlib.dumps(value))
    return excerpt(response.text) or response.reason or f"HTTP {response.status_code}"


def error_for(
    provider: str, response: requests.Response, *, now: float | None = None
) -> ProviderError:
    """The one place a non-2xx response becomes an exception; ``now`` dates a Retry-After."""
    status = response.status_code
    message = f"{_what(response.request)}{platform_message(response)}"
    common: dict[str, Any] = {"provider": provider, "status": status, "body": response.content}
    if status in (401, 403):
        return AuthError(message, **common)
    now = time.time() if now is None else now
    retry_after = parse_retry_after(response.headers.get("Retry-After"), now)
    if status == 429:
        return RateLimited(message, retry_after=retry_after, **common)
    if status == 408 or status >= 500:
        return TransientError(message, retry_after=retry_after, **common)
    return PermanentError(message, **common)


def transport_error(
    provider: str, method: str, url: str, exc: requests.RequestException
) -> ProviderError:
    """Translates a ``requests`` exception: network trouble is transient, the rest permanent;
    either is ``unanswered`` unless it surely happened before the request left."""
    cause = excerpt(_QUERY.sub("?…", str(exc)))
    message = f"{method} {safe_url(url)}: {type(exc).__name__} ({cause})"
    unanswered = not never_sent(exc)
    if isinstance(exc, _TRANSIENT_TRANSPORT):
        return TransientError(message, provider=provider, unanswered=unanswered)
    return PermanentError(message, provider=provider, unanswered=unanswered)


def never_sent(exc: requests.RequestException) -> bool:
    """Whether ``exc`` surely happened before the request reached the platform: no
    connection was made, or the request could not be built. Anything else (a read timeout,
    a connection dropped after sending, a body cut short) may have been acted on."""
    if isinstance(exc, _NOT_SENT):
        return True
    if isinstance(exc, requests.ConnectionError) and exc.args:
        cause = exc.args[0]
        return isinstance(getattr(cause, "reason", cause), _NO_CONNECTION)
    return False


def parse_json(provider: str, response: requests.Response) -> Any:
    """The response body as JSON; anything else is a ``BadResponse`` quoting the body."""
    try:
        return response.json()
    except ValueError as exc:
        message = f"{_what(response.request)}expected a JSON body"
        raise BadResponse(
            message, provider=provider, status=response.status_code, body=response.content
        ) from exc


def read_bounded(provider: str, response: requests.Response, limit: int) -> None:
    """Reads a streamed body into ``response`` (so ``.content`` works), never past ``limit``.

    The bound applies to the decoded bytes, so a small compressed answer cannot inflate
    past it either. Raises ``UnsafeAnswer`` naming the limit; the connection is dropped.
    """
    declared = response.headers.get("Content-Length", "")
    chunks: list[bytes] = []
    size = int(declared) if declared.isdigit() else 0
    if size <= limit:
        size = 0
        for chunk in response.iter_content(READ_CHUNK_BYTES):
            size += len(chunk)
            if size > limit:
                break
            chunks.append(chunk)
    if size > limit:
        response.close()
        raise UnsafeAnswer(
            f"{_what(response.request)}answer larger than the {limit / MB:g} MB limit "
            "(JOBFLEET_MAX_RESPONSE_MB); not read further",
            provider=provider, status=response.status_code,
        )
    response._content = b"".join(chunks)  # what requests itself does when it reads a body


def gunzip_bounded(provider: str, data: bytes, limit: int) -> bytes:
    """``data`` gunzipped, never past ``limit`` bytes: a small gzip bomb is an
    ``UnsafeAnswer`` naming the limit, not a worker out of memory. Raises ``zlib.error`` or
    ``EOFError`` for data that is not complete gzip."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)  # gzip framing
    out = inflater.decompress(data, limit + 1)
    if len(out) > limit:
        raise UnsafeAnswer(f"gzip output larger than the {limit / MB:g} MB limit "
                           "(JOBFLEET_MAX_RESPONSE_MB); not inflated further", provider=provider)
    if not inflater.eof:
        raise EOFError("gzip data ends early")
    return out


def safe_url(url: str) -> str:
    """``url`` without its query or fragment, fit for messages and logs."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.netloc else parts.path


def _what(request: requests.PreparedRequest | None) -> str:
    """``"GET /path: "`` for a message prefix, or nothing for a hand-built response."""
    if request is None or not request.url:
        return ""
    return f"{request.method} {urlsplit(request.url).path}: "
