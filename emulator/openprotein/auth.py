"""OpenProtein login, refresh and the bearer-token guard (doc: shared/providers/openprotein.md §1).

* `POST v1/auth/login`, a form (`username`, `password`), answers
  `{access_token, refresh_token, expires_in, token_type}` in the body (the official client
  asks for that with `X-Token-Delivery: body`; the emulator never plays cookie delivery).
  Wrong credentials are a 401 `{"detail": ...}`; missing fields a 422.
* `POST v1/login/access-token` (and the REST docs' `v1/login/user-access-token`) is the
  legacy login: an access token only, so the client cannot refresh.
* `POST v1/auth/refresh`, JSON `{"refresh_token"}`, answers a new pair and retires the old
  refresh token (rotation, as the client expects). It is judged by the body alone: the client
  sends its stale bearer token along. Unknown, expired or already used → 401.
* Every other route needs `Authorization: Bearer <access token>`; an unknown or expired one
  is a 401 (never 403, so the client's refresh-and-retry runs).

Tokens are JWT-shaped and HMAC-signed with a per-process secret, so checking one needs no
table; a reset (or a restart) changes the secret, which forgets every session.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from emulator.openprotein.stats import auth_stats
from emulator.provider import ProviderContext

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
USER_KEY = "openprotein_user"  # where the guard leaves the caller's username on the request
ACCESS, REFRESH = "access", "refresh"


class TokenProblem(ValueError):
    """A token was refused; the message is the 401's `detail`."""


def detail(status: int, message: str, **headers: str) -> web.Response:
    """The platform's error body: FastAPI style, `detail` a plain string."""
    return web.json_response({"detail": message}, status=status, headers=headers or None)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenIssuer:
    """Mints and checks signed tokens; remembers used refresh tokens so each works once."""

    def __init__(self, access_ttl_s: float, refresh_ttl_s: float) -> None:
        self.access_ttl_s = access_ttl_s
        self.refresh_ttl_s = refresh_ttl_s
        self._secret = secrets.token_bytes(32)
        self._used: set[str] = set()

    def forget_all(self) -> None:
        """A new secret: every token issued so far becomes unknown."""
        self._secret = secrets.token_bytes(32)
        self._used.clear()

    def pair(self, user: str, now: float, *, with_refresh: bool = True) -> dict[str, Any]:
        """The login/refresh answer; `expires_in` is the access token's lifetime."""
        ttl = self.access_ttl_s
        body: dict[str, Any] = {
            "access_token": self._mint(user, ACCESS, now + ttl),
            "expires_in": int(ttl) if float(ttl).is_integer() else ttl,
            "token_type": "bearer",
        }
        if with_refresh:
            body["refresh_token"] = self._mint(user, REFRESH, now + self.refresh_ttl_s)
        return body

    def user_of(self, token: str, kind: str, now: float) -> str:
        """The username a valid token of `kind` was issued to; raises TokenProblem."""
        claims = self._claims(token)
        if claims.get("typ") != kind:
            raise TokenProblem(f"not an {kind} token")
        if not now < claims.get("exp", 0):
            raise TokenProblem(f"{kind} token expired")
        return str(claims.get("sub"))

    def redeem(self, refresh_token: str, now: float) -> str:
        """Use up a refresh token, returning its user; a second use is refused."""
        user = self.user_of(refresh_token, REFRESH, now)
        jti = str(self._claims(refresh_token).get("jti"))
        if jti in self._used:
            raise TokenProblem("refresh token already used")
        self._used.add(jti)
        return user

    def _mint(self, user: str, kind: str, exp: float) -> str:
        header = _b64(b'{"alg":"HS256","typ":"JWT"}')
        claims = {"sub": user, "typ": kind, "exp": exp, "jti": uuid.uuid4().hex}
        payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
        return f"{header}.{payload}.{self._sign(f'{header}.{payload}')}"

    def _sign(self, text: str) -> str:
        return _b64(hmac.new(self._secret, text.encode(), hashlib.sha256).digest())

    def _claims(self, token: str) -> dict[str, Any]:
        parts = token.split(".")
        if len(parts) != 3 or not hmac.compare_digest(self._sign(f"{parts[0]}.{parts[1]}"),
                                                      parts[2]):
            raise TokenProblem("unknown token")
        try:
            claims = json.loads(_unb64(parts[1]))
        except (binascii.Error, ValueError) as exc:
            raise TokenProblem("unknown token") from exc
        if not isinstance(claims, dict):
            raise TokenProblem("unknown token")
        return claims


class AuthApi:
    """Login, legacy login, refresh and the guard wrapping every other route."""

    def __init__(self, ctx: ProviderContext, users: Mapping[str, str], issuer: TokenIssuer):
        self.ctx = ctx
        self.users = dict(users)
        self.issuer = issuer

    def routes(self) -> list[web.RouteDef]:
        """The unauthenticated routes."""
        return [
            web.post("/v1/auth/login", self.login),
            web.post("/v1/auth/refresh", self.refresh),
            web.post("/v1/login/access-token", self.legacy_login),
            web.post("/v1/login/user-access-token", self.legacy_login),
        ]

    async def _check_password(self, request: web.Request) -> str | web.Response:
        """The username when the form's credentials match, else the error to answer."""
        form = await request.post()
        username, password = form.get("username"), form.get("password")
        if not isinstance(username, str) or not isinstance(password, str):
            return detail(422, "form fields username and password are required")
        expected = self.users.get(username)
        if expected is None or not hmac.compare_digest(expected.encode(), password.encode()):
            auth_stats(self.ctx).login_failures[username] += 1
            return detail(401, "Incorrect username or password", **{"WWW-Authenticate": "Bearer"})
        auth_stats(self.ctx).logins[username] += 1
        return username

    async def login(self, request: web.Request) -> web.Response:
        """Form login; the tokens come back in the body."""
        checked = await self._check_password(request)
        if isinstance(checked, web.Response):
            return checked
        return web.json_response(self.issuer.pair(checked, self.ctx.clock.now()))

    async def legacy_login(self, request: web.Request) -> web.Response:
        """The old login: an access token and no refresh token."""
        checked = await self._check_password(request)
        if isinstance(checked, web.Response):
            return checked
        now = self.ctx.clock.now()
        return web.json_response(self.issuer.pair(checked, now, with_refresh=False))

    async def refresh(self, request: web.Request) -> web.Response:
        """Exchange a refresh token for a new pair (the old one is retired)."""
        try:
            body = await request.json()
        except ValueError:
            body = None
        token = body.get("refresh_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            return detail(422, "body must be JSON with a refresh_token string")
        try:
            user = self.issuer.redeem(token, self.ctx.clock.now())
        except TokenProblem as exc:
            auth_stats(self.ctx).refresh_failures += 1
            return detail(401, str(exc), **{"WWW-Authenticate": "Bearer"})
        auth_stats(self.ctx).refreshes[user] += 1
        return web.json_response(self.issuer.pair(user, self.ctx.clock.now()))

    def guard(self, handler: Handler) -> Handler:
        """Wrap a handler with the bearer check; the caller's name goes on the request."""

        async def guarded(request: web.Request) -> web.StreamResponse:
            scheme, _, token = request.headers.get("Authorization", "").partition(" ")
            try:
                if scheme.lower() != "bearer" or not token.strip():
                    raise TokenProblem("Not authenticated")
                user = self.issuer.user_of(token.strip(), ACCESS, self.ctx.clock.now())
            except TokenProblem as exc:
                auth_stats(self.ctx).token_rejections += 1
                return detail(401, str(exc), **{"WWW-Authenticate": "Bearer"})
            request[USER_KEY] = user
            return await handler(request)

        return guarded
