"""The pooled HTTP session a worker process shares among its threads and platforms."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

DEFAULT_POOL_SIZE = 10  # requests' own default; a worker passes its thread count instead
HOST_POOLS = 4  # hosts one process talks to: each platform's API plus its file storage


def make_session(pool_size: int = DEFAULT_POOL_SIZE) -> requests.Session:
    """One pooled session per worker process; ``pool_size`` is the number of threads sharing it.

    The session carries no headers: each :class:`HttpClient` adds its own auth per request,
    so one session can serve every provider and unauthenticated presigned-URL calls.
    """
    if pool_size < 1:
        raise ValueError("pool_size must be at least 1")
    session = _Session()
    adapter = HTTPAdapter(pool_connections=HOST_POOLS, pool_maxsize=pool_size, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class _Session(requests.Session):
    """A session that reads the environment's proxy and CA settings once per origin instead
    of on every request (requests scans every variable each time; they do not change while a
    worker runs). Calls that pass their own proxies, verify or cert are not cached."""

    def __init__(self) -> None:
        super().__init__()
        self._environment: dict[tuple[Any, ...], dict[str, Any]] = {}

    def merge_environment_settings(self, url, proxies, stream, verify, cert):  # noqa: ANN001
        if proxies or verify is not None or cert is not None:
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        parts = urlsplit(url)
        key = (parts.scheme.lower(), parts.netloc.lower(), stream)
        found = self._environment.get(key)
        if found is None:
            found = super().merge_environment_settings(url, {}, stream, None, None)
            self._environment[key] = found
        return {**found, "proxies": dict(found["proxies"])}
