"""Just enough JWT handling to play a platform's gateway.

The official clients decode their bearer JWT *without* checking the signature and refuse one
whose `exp` has passed. The emulator accepts exactly that: any decodable JWT (any `alg`,
including `none`) with a future `exp`. `make_jwt` mints such tokens for tests and demos.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from typing import Any

# Long enough for a benchmark run; short enough that a leaked test token is useless anyway.
DEFAULT_TTL_S = 24 * 3600


class TokenError(ValueError):
    """The token is missing, not a JWT, or expired; the message says which."""


def _b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def decode_jwt(token: str) -> dict[str, Any]:
    """Return the claims of a JWT without verifying its signature; raises TokenError."""
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenError("token is not a JWT")
    try:
        header = json.loads(_b64url_decode(parts[0]))
        claims = json.loads(_b64url_decode(parts[1]))
    except (binascii.Error, ValueError) as exc:
        raise TokenError("token is not a decodable JWT") from exc
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise TokenError("token is not a decodable JWT")
    return claims


def check_bearer(
    authorization: str | None, now: float, allowed: frozenset[str] = frozenset()
) -> str | None:
    """Why an `Authorization` header is refused, or None when it is acceptable.

    `allowed`, when non-empty, further restricts the accepted tokens to that exact set.
    """
    if not authorization:
        return "missing Authorization header"
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return "Authorization must be 'Bearer <token>'"
    token = token.strip()
    try:
        claims = decode_jwt(token)
    except TokenError as exc:
        return str(exc)
    exp = claims.get("exp", 0)
    if isinstance(exp, bool) or not isinstance(exp, (int, float)) or exp <= now:
        return "token expired"
    if allowed and token not in allowed:
        return "token not accepted by this emulator"
    return None


def make_jwt(
    claims: dict[str, Any] | None = None, *, ttl_s: float = DEFAULT_TTL_S, now: float | None = None
) -> str:
    """An unsigned (`alg: none`) JWT whose `exp` is `ttl_s` from now; extra claims merged."""
    issued = time.time() if now is None else now
    body = {"exp": int(issued + ttl_s), "iat": int(issued), "name": "emulator-user"}
    body.update(claims or {})
    header = {"alg": "none", "typ": "JWT"}
    encoded = [_b64url_encode(json.dumps(part).encode()) for part in (header, body)]
    return ".".join([*encoded, ""])
