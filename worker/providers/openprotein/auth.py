"""One OpenProtein login for the whole fleet, kept in Redis.

OpenProtein hands out short-lived access tokens (about 15 minutes) with a rotating refresh
token. A fleet of workers must not log in once per task, nor stampede the refresh endpoint
when the token expires, nor hammer the login endpoint with a wrong password. So::

    jf:token:openprotein:{h}          sealed JSON {access_token, refresh_token, expires_at,
                                      renew_at}: AES-GCM under a key derived from the credential
    jf:token:openprotein:{h}:lock     the renewing worker's random id; expires by itself
    jf:authfail:openprotein:{h}       the platform's reason for refusing our login, for 30 s
                                      (the fleet's one refusal memo, see worker.runtime)

``h`` is the credential's fingerprint (:mod:`worker.credentials`): backend, username *and*
password, so a worker with a wrong password never uses a token another worker obtained, and
a corrected password is tried at once. Reading Redis gives neither a password nor a usable
token: a token record opens only for a worker configured with the same credential.

* A token before ``renew_at`` is used as is (each process keeps a copy, so most calls do
  not even read Redis; old tokens stay valid until they expire). Between ``renew_at`` and
  ``expires_at`` one worker (whoever takes the lock) renews it; the others keep using it.
* An expired or missing token: the lock holder refreshes (or logs in when the refresh token is
  refused); the others poll Redis until the new token appears, for at most ``LOCK_WAIT_S``.
* A 401 on a call: :meth:`SharedToken.after_rejection` renews once, unless another worker
  already replaced the rejected token, and the caller retries once.
* A refused login (401/403) is an ``AuthError`` with the platform's reason, remembered in the
  credential's refusal memo so that every other job fails at once without another login.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

import redis
import requests
from pydantic import SecretStr

from worker.credentials import Sealer
from worker.errors import AuthError, BadResponse, PermanentError, TransientError
from worker.keys import authfail_key, token_prefix
from worker.providers.http import HttpClient
from worker.providers.http_errors import parse_json

log = logging.getLogger(__name__)

NAME = "openprotein"
KEY_PREFIX = token_prefix(NAME)
REFRESH_SKEW_S = 30.0  # renew this long before expiry, as the official client does
SKEW_FRACTION = 0.25  # ... or a quarter of the lifetime, for short-lived (test) tokens
DEFAULT_EXPIRES_IN_S = 900.0  # when the answer has no expires_in: production's ~15 minutes
LOCK_TTL_S = 30.0  # outlives a refresh plus a login with their retries; frees a dead holder
LOCK_WAIT_S = 10.0  # how long others wait for the holder before handing the step back
LOCK_POLL_S = 0.05
DENIAL_TTL_S = 30.0  # a batch's jobs fail at once; a corrected password is another credential
RECORD_TTL_S = 24 * 3600.0  # keep the refresh token this long; after that, log in again
TOKEN_HEADERS = {"X-Token-Delivery": "body", "Accept": "application/json"}
_RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end"


@dataclass(frozen=True)
class Token:
    """An access token, the refresh token that came with it, and when to renew it."""

    access_token: str
    refresh_token: str | None
    expires_at: float
    renew_at: float


def token_from_answer(answer: Any, sent_at: float) -> Token:
    """A login or refresh answer as a Token; times count from when the request was sent.

    Raises ``BadResponse`` without quoting the body, which may hold tokens.
    """
    access = answer.get("access_token") if isinstance(answer, Mapping) else None
    if not isinstance(access, str) or not access:
        raise BadResponse("token answer without an access_token", provider=NAME)
    refresh = answer.get("refresh_token")
    expires_in = answer.get("expires_in")
    if isinstance(expires_in, bool) or not isinstance(expires_in, (int, float)) or expires_in <= 0:
        expires_in = DEFAULT_EXPIRES_IN_S
    skew = min(REFRESH_SKEW_S, expires_in * SKEW_FRACTION)
    return Token(
        access_token=access,
        refresh_token=refresh if isinstance(refresh, str) and refresh else None,
        expires_at=sent_at + expires_in,
        renew_at=sent_at + expires_in - skew,
    )


@contextmanager
def _store_errors() -> Iterator[None]:
    """Redis trouble is transient for the job: the task layer tries again later."""
    try:
        yield
    except redis.RedisError as exc:
        raise TransientError(f"token store unavailable: {exc}", provider=NAME) from exc


class SharedToken:
    """The fleet's OpenProtein token: read from Redis, renewed by one worker at a time."""

    def __init__(
        self,
        http: HttpClient,
        store: redis.Redis,
        *,
        credential: str,
        sealer: Sealer,
        username: str,
        password: SecretStr,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._http = http
        self._redis = store
        self._username = username
        self._password = password
        self._clock = clock
        self._sleep = sleep
        self.key = KEY_PREFIX + credential.split(":", 1)[-1]
        self.denied_key = authfail_key(credential)
        self._sealer = sealer
        self._release = store.register_script(_RELEASE)
        self._local: Token | None = None  # this process's copy: no Redis read until it is due

    def bearer(self) -> str:
        """A usable access token, renewing it first when it is due or gone."""
        local = self._local
        if local is not None and self._clock() < local.renew_at:
            return local.access_token
        with _store_errors():
            current = self._read()
            now = self._clock()
            if current is not None and now < current.renew_at:
                return current.access_token
            if current is not None and now < current.expires_at:
                return self._renew_early(current).access_token
            return self._renew(lambda t: self._clock() < t.renew_at).access_token

    def after_rejection(self, rejected: str) -> str:
        """A token to retry with after ``rejected`` drew a 401: someone's newer one, or ours."""
        self._local = None
        with _store_errors():
            return self._renew(
                lambda t: t.access_token != rejected and self._clock() < t.expires_at
            ).access_token

    def _read(self) -> Token | None:
        sealed = self._redis.get(self.key)
        if isinstance(sealed, bytes):
            sealed = sealed.decode("ascii", "replace")
        raw = self._sealer.open(sealed, self.key) if sealed is not None else None
        if raw is None:
            return None  # none, or not ours to open (another version, tampered): renew over it
        try:
            token = Token(**json.loads(raw))
        except (TypeError, ValueError):
            return None
        self._local = token
        return token

    def _write(self, token: Token) -> None:
        self._redis.set(self.key, self._sealer.seal(json.dumps(asdict(token)).encode(), self.key),
                        ex=int(RECORD_TTL_S))
        self._local = token

    def _renew_early(self, current: Token) -> Token:
        """Renew a still-valid token if no one else is; keep using it if that fails briefly."""
        owner = self._acquire()
        if owner is None:
            return current
        try:
            latest = self._read()
            if latest is not None and self._clock() < latest.renew_at:
                return latest
            return self._renew_locked(latest or current)
        except TransientError as exc:
            log.info("openprotein: early token renewal failed, token still valid: %s", exc)
            return current
        finally:
            self._release(keys=[self.key + ":lock"], args=[owner])

    def _renew(self, usable: Callable[[Token], bool]) -> Token:
        """Wait for, or take, the lock until a usable token is in Redis; raises on denial."""
        deadline = self._clock() + LOCK_WAIT_S
        while True:
            self._raise_if_denied()
            current = self._read()
            if current is not None and usable(current):
                return current
            owner = self._acquire()
            if owner is not None:
                try:
                    self._raise_if_denied()
                    current = self._read()
                    if current is not None and usable(current):
                        return current
                    return self._renew_locked(current)
                finally:
                    self._release(keys=[self.key + ":lock"], args=[owner])
            if self._clock() >= deadline:
                raise TransientError(
                    f"another worker has been renewing the token for over {LOCK_WAIT_S:g}s",
                    provider=NAME,
                )
            self._sleep(LOCK_POLL_S)

    def _renew_locked(self, current: Token | None) -> Token:
        """Refresh when we hold a refresh token the platform still takes, else log in."""
        token = self._refresh(current) if current and current.refresh_token else None
        if token is None:
            token = self._login()
        self._write(token)
        return token

    def _refresh(self, current: Token) -> Token | None:
        """A new token from the refresh token; None when the platform refuses that token."""
        sent_at = self._clock()
        headers = {**TOKEN_HEADERS, "Authorization": f"Bearer {current.access_token}"}
        try:
            response = self._http.request(
                "POST", "v1/auth/refresh", json={"refresh_token": current.refresh_token},
                headers=headers, idempotent=True,
            )
        except PermanentError as exc:
            if exc.status in (401, 403, 404):
                log.info("openprotein: refresh token refused (%s), logging in again", exc.status)
                return None
            raise
        log.info("openprotein: token refreshed for %s", self._username)
        return token_from_answer(parse_json(NAME, response), sent_at)

    def _login(self) -> Token:
        """Log in; the legacy route when the platform does not know the current one (404)."""
        sent_at = self._clock()
        try:
            response = self._post_login("v1/auth/login")
        except PermanentError as exc:
            if exc.status != 404:
                raise
            response = self._post_login("v1/login/access-token")
        log.info("openprotein: logged in as %s", self._username)
        return token_from_answer(parse_json(NAME, response), sent_at)

    def _post_login(self, path: str) -> requests.Response:
        """POST the credentials form; a refusal is remembered for the rest of the fleet."""
        form = {"username": self._username, "password": self._password.get_secret_value()}
        try:
            return self._http.request(
                "POST", path, data=form, headers=TOKEN_HEADERS, idempotent=True
            )
        except AuthError as exc:
            self._redis.set(self.denied_key, exc.describe(), ex=int(DENIAL_TTL_S))
            self._redis.delete(self.key)
            self._local = None
            raise

    def _raise_if_denied(self) -> None:
        reason = self._redis.get(self.denied_key)
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        if reason is not None:
            raise AuthError(
                f"login refused within the last {DENIAL_TTL_S:g}s, not retried: {reason}",
                provider=NAME, status=401,
            )

    def _acquire(self) -> str | None:
        owner = secrets.token_hex(8)
        taken = self._redis.set(self.key + ":lock", owner, nx=True, px=int(LOCK_TTL_S * 1000))
        return owner if taken else None
