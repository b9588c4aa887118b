"""Who a request to the emulator authenticates as, as a label safe to show in its stats.

A *credential* is shown only as a short hash (`cred-<12 hex>`): the stats
(`emulator.stats`) and rate limits need to tell callers apart, never to see their secrets.
A bearer JWT counts as the user it names, so a refreshed token stays one credential; any
other bearer token, API key or basic-auth user counts as itself. Requests without
credentials (health checks, presigned storage URLs, logins) are `anonymous`. Nothing here
validates a credential: each platform's own guard does that.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from functools import lru_cache

from emulator.tokens import TokenError, decode_jwt

ANONYMOUS = "anonymous"
API_KEY_HEADERS = ("X-API-Key", "Api-Key")  # header names some platforms use for a bare key
CREDENTIAL_HASH_CHARS = 12  # enough to tell a handful of accounts apart, useless to an attacker
JWT_IDENTITY_CLAIMS = ("sub", "username", "email")  # who a JWT speaks for, in preference order
CREDENTIAL_CACHE = 1024  # distinct Authorization values remembered: a fleet uses a handful


def credential_label(kind: str, value: str) -> str:
    """The stats name of one credential: a short hash, never the value itself.

    A caller that knows its own token can compute its label the same way to find its row.
    """
    digest = hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()
    return f"cred-{digest[:CREDENTIAL_HASH_CHARS]}"


def credential_of(headers: Mapping[str, str]) -> str:
    """The credential label a request authenticates as, or `anonymous`.

    A bearer JWT counts as the user it names (`sub`, else `username`/`email`), so tokens that
    rotate (a refresh) stay one credential; any other bearer token, API key or basic-auth user
    counts as itself. Nothing here validates: the provider's own guard does that.
    """
    keys = tuple((headers.get(name) or "").strip() for name in API_KEY_HEADERS)
    return _credential((headers.get("Authorization") or "").strip(), keys)


@lru_cache(maxsize=CREDENTIAL_CACHE)
def _credential(authorization: str, api_keys: tuple[str, ...]) -> str:
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if token and scheme.lower() == "bearer":
        return credential_label(*_bearer_identity(token))
    if token and scheme.lower() == "basic":
        return credential_label("user", _basic_user(token))
    for key in api_keys:
        if key:
            return credential_label("key", key)
    return ANONYMOUS


def _bearer_identity(token: str) -> tuple[str, str]:
    try:
        claims = decode_jwt(token)
    except TokenError:
        return "key", token
    for claim in JWT_IDENTITY_CLAIMS:
        if isinstance(claims.get(claim), str) and claims[claim]:
            return "user", claims[claim]
    return "key", token


def _basic_user(encoded: str) -> str:
    try:
        return base64.b64decode(encoded, validate=True).decode().partition(":")[0]
    except (binascii.Error, UnicodeDecodeError):
        return encoded
