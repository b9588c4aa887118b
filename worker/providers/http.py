"""The HTTP layer every provider shares: a pooled session, one error mapping, brief retries.

Errors are made by :mod:`worker.providers.http_errors`, so tasks never see ``requests`` or
a status code; how a request is retried (idempotent ones only, briefly, within the thread's
lease) is :mod:`worker.providers.http_retry`.

A platform's answer is not trusted to be small or to stay home: bodies are read up to a
bound (``JOBFLEET_MAX_RESPONSE_MB``) and redirects are followed by hand, our credentials
only ever to the origin they were meant for (``UnsafeAnswer`` otherwise).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Protocol
from urllib.parse import urljoin, urlsplit

import requests

from config.settings import HTTP_RETRIES, HTTP_TIMEOUT_S, fleet_settings
from worker.errors import (
    AuthError,
    BadResponse,
    ProviderError,
    RateLimited,
    TransientError,
    UnsafeAnswer,
)
from worker.providers.http_errors import (
    MB,
    error_for,
    parse_json,
    read_bounded,
    safe_url,
    transport_error,
)
from worker.providers.http_retry import RETRY_AFTER_CAP_S, SLEEP_BUDGET_S, retrying
from worker.providers.session import DEFAULT_POOL_SIZE, make_session
from worker.telemetry import recorder, status_class

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
RESPONSES = "jobfleet_platform_responses_total"  # counted per attempt, for /metrics
MAX_REDIRECTS = 5  # hops followed by hand; a longer chain is a platform bug
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


def _origin(url: str) -> tuple[str, str]:
    """Scheme and host:port: where a credential may be sent."""
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


@contextmanager
def _presigned(provider: str) -> Iterator[None]:
    """A refused presigned URL has most likely expired: asking again later gets a fresh one,
    so it is transient, not an authentication failure of ours."""
    try:
        yield
    except AuthError as exc:
        raise TransientError(f"presigned URL refused ({exc.message})", provider=provider,
                             status=exc.status) from exc


class Throttle(Protocol):
    """The fleet-wide limiter of one platform credential (see :mod:`worker.limits`)."""

    def before_request(self) -> float:
        """Waits for a request slot and returns when it is (on the limiter's clock), or raises
        ``RateLimited`` when the wait would be long."""

    def rate_limited(self, retry_after: float | None) -> None:
        """Tells the whole fleet that the platform answered 429."""


class HttpClient:
    """Talks to one platform: joins paths under its base URL, adds its auth, maps and retries.

    Thread-safe as long as the session is (one ``requests.Session`` shared by a worker's
    threads). Without a ``session`` it opens its own, pooled for ``pool_size`` threads: the
    worker runtime makes one such client per platform. ``sleep`` and ``clock`` are seams for
    tests; ``before_request`` runs before every attempt (a test's scripted faults) and so
    does the ``throttle``, the fleet-wide rate limiter, which may raise ``RateLimited``.
    """

    def __init__(
        self,
        provider: str,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout_s: float = HTTP_TIMEOUT_S,
        retries: int = HTTP_RETRIES,
        session: requests.Session | None = None,
        pool_size: int = DEFAULT_POOL_SIZE,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        before_request: Callable[[], None] | None = None,
        throttle: Throttle | None = None,
        retry_after_cap: float = RETRY_AFTER_CAP_S,
        sleep_budget: float = SLEEP_BUDGET_S,
        max_body_bytes: int | None = None,
    ) -> None:
        self.provider = provider
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.retries = retries
        self._headers = dict(headers or {})
        self._owns_session = session is None
        self._session = session if session is not None else make_session(pool_size)
        self._sleep = sleep
        self._clock = clock
        self._before_request = before_request
        self._throttle = throttle
        self._retry_after_cap = retry_after_cap
        self._sleep_budget = sleep_budget
        if max_body_bytes is None:
            max_body_bytes = int(fleet_settings().max_response_mb * MB)
        self._max_body_bytes = max_body_bytes

    def url(self, path: str) -> str:
        """``path`` under the base URL, keeping any path prefix the base URL carries."""
        return f"{self.base_url}/{path.lstrip('/')}"

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Sends ``method path`` under the base URL; see :meth:`send` for the keywords."""
        return self.send(method, self.url(path), **kwargs)

    def json(
        self, method: str, path: str, *, headers: Mapping[str, str] | None = None, **kwargs: Any
    ) -> Any:
        """Like :meth:`request`, but returns the parsed body (``BadResponse`` if not JSON)."""
        headers = {"Accept": "application/json", **(headers or {})}
        return parse_json(self.provider, self.request(method, path, headers=headers, **kwargs))

    def download(self, url: str, *, timeout: float | None = None) -> bytes:
        """GETs an absolute presigned URL without our auth: the signature is its credential."""
        self._check_absolute(url)
        with _presigned(self.provider):
            return self.send("GET", url, authenticated=False, timeout=timeout).content

    def upload(
        self, url: str, data: bytes, *, content_type: str = "application/octet-stream"
    ) -> None:
        """PUTs raw bytes to an absolute presigned URL without our auth headers."""
        self._check_absolute(url)
        with _presigned(self.provider):
            self.send(
                "PUT", url, data=data, headers={"Content-Type": content_type}, authenticated=False
            )

    def send(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Any = None,
        files: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        timeout: float | None = None,
        authenticated: bool = True,
    ) -> requests.Response:
        """Sends one logical request to an absolute URL and returns its 2xx response.

        ``idempotent`` defaults from the method. A non-idempotent request (a POST creating a
        remote job) is retried only on 429, which says it was refused, never on a timeout or
        5xx that it may have survived. Raises the :mod:`worker.errors` tree, nothing else.
        """
        method = method.upper()
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS
        merged = {**(self._headers if authenticated else {}), **(headers or {})}
        options = {"params": params, "json": json, "data": data, "files": files, "headers": merged}
        options["timeout"] = self.timeout_s if timeout is None else timeout
        policy = retrying(retries=self.retries, idempotent=idempotent, sleep=self._sleep,
                          sleep_budget=self._sleep_budget,
                          retry_after_cap=self._retry_after_cap)
        return policy(self._attempt, method, url, options, authenticated)

    def close(self) -> None:
        """Closes the session if this client made it; a shared session is its owner's to close."""
        if self._owns_session:
            self._session.close()

    def _attempt(
        self, method: str, url: str, options: dict[str, Any], authenticated: bool
    ) -> requests.Response:
        """One attempt: the hook, the call, and the translation of whatever went wrong."""
        if self._before_request is not None:
            self._before_request()
        if self._throttle is not None:
            self._throttle.before_request()
        try:
            response = self._follow(method, url, options, authenticated)
        except ProviderError as exc:
            if exc.status is None:  # no HTTP answer at all
                recorder.count(RESPONSES, platform=self.provider, code=status_class(None))
            raise
        recorder.count(RESPONSES, platform=self.provider, code=status_class(response.status_code))
        if not 200 <= response.status_code < 300:
            error = error_for(self.provider, response, now=self._clock())
            if isinstance(error, RateLimited) and self._throttle is not None:
                self._throttle.rate_limited(error.retry_after)
            raise error
        return response

    def _follow(
        self, method: str, url: str, options: dict[str, Any], authenticated: bool
    ) -> requests.Response:
        """Sends, following redirects by hand: our credentials never leave their origin."""
        for _ in range(MAX_REDIRECTS + 1):
            response = self._fetch(method, url, options)
            location = response.headers.get("Location")
            if response.status_code not in _REDIRECTS or not location:
                return response
            target = urljoin(url, location)
            if authenticated and _origin(target) != _origin(url):
                raise UnsafeAnswer(
                    f"{method} {urlsplit(url).path}: redirected to another host "
                    f"({urlsplit(target).netloc}); not followed with our credentials",
                    provider=self.provider, status=response.status_code,
                )
            if response.status_code == 303 or (
                response.status_code in (301, 302) and method not in ("GET", "HEAD")
            ):
                method = "GET"
                options = {**options, "json": None, "data": None, "files": None}
            url, options = target, {**options, "params": None}
        raise UnsafeAnswer(f"{method} {urlsplit(url).path}: more than {MAX_REDIRECTS} redirects",
                           provider=self.provider)

    def _fetch(self, method: str, url: str, options: dict[str, Any]) -> requests.Response:
        """One HTTP exchange, its body read within the size bound."""
        try:
            response = self._session.request(
                method, url, allow_redirects=False, stream=True, **options
            )
            read_bounded(self.provider, response, self._max_body_bytes)
        except requests.RequestException as exc:
            raise transport_error(self.provider, method, url, exc) from exc
        return response

    def _check_absolute(self, url: str) -> None:
        """A presigned URL must be absolute http(s); anything else is a platform bug."""
        if urlsplit(url).scheme not in ("http", "https"):
            raise BadResponse(f"not an absolute URL: {safe_url(url)}", provider=self.provider)
