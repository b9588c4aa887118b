"""What the fleet knows about a platform before talking to it: one :class:`PlatformSpec`.

Each platform is a package under ``worker/providers/<name>/`` whose ``__init__`` exports one
``SPEC``. Everything else reads it: the registry (:mod:`worker.providers`), job-file
validation (kinds, params, upload targets), the CLI's help and the README's table, and the
worker runtime, which reads the settings, opens one pooled :class:`HttpClient` per platform
from :attr:`PlatformSpec.endpoint` and hands it to :attr:`PlatformSpec.build`.

Reading a spec is cheap: it names the provider class only inside ``build``, so a producer
validating a job file never imports the code that speaks the platform's API.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from worker.providers.schema import ParamsSchema

if TYPE_CHECKING:
    from worker.providers.http import HttpClient


@dataclass(frozen=True)
class Endpoint:
    """Where a platform's API is and the headers every request to it carries.

    Made from the platform's settings by :attr:`PlatformSpec.endpoint`, which raises
    ``ConfigError`` naming the variable when a required setting is missing. ``headers``
    hold the credential: they go into the HTTP client and nowhere else.
    """

    base_url: str
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class Capabilities:
    """What a platform can do beyond create, status and fetch outputs."""

    cancel: bool = True  # has a cancel endpoint; else the fleet just stops tracking the job
    find: bool = False  # can find the remote job a lost create made (by tag or by payload)
    uploads: bool = False  # can receive a result uploaded as a file
    bulk_list: bool = False  # can report many jobs' status in one request


@dataclass(frozen=True)
class PlatformSpec:
    """One platform: its name, kinds and their params, capabilities, settings and builder.

    ``settings`` is called with no arguments to read the platform's settings from the
    environment (a pydantic-settings class with the official client's variable names).
    ``build(settings, http, redis=..., clock=...)`` makes the provider; ``http`` is the
    pooled client the runtime opened from ``endpoint(settings)``.
    """

    name: str
    title: str  # as people write it, for messages and docs: "Deep Origin"
    kinds: Mapping[str, ParamsSchema]
    settings: Callable[[], Any]
    endpoint: Callable[[Any], Endpoint]
    build: Callable[..., Any]  # makes the platform's worker.providers.base.Provider
    capabilities: Capabilities = Capabilities()
    env_prefix: str = ""  # the settings' variable prefix, for docs: "DO_"
    doc: str = ""

    def validate_params(self, kind: str, params: Any) -> dict[str, Any]:
        """A job's params checked against ``kind``'s schema, aliases renamed (``ValueError``)."""
        schema = self.kinds.get(kind) if isinstance(kind, str) else None
        if schema is None:
            known = ", ".join(sorted(self.kinds))
            raise ValueError(f"unknown kind {kind!r} for {self.name} (known: {known})")
        return schema.validate(params, self._where[kind])  # type: ignore[attr-defined]

    def __post_init__(self) -> None:
        # "deeporigin/tool", for messages: made once, not per job line
        object.__setattr__(self, "_where", {kind: f"{self.name}/{kind}" for kind in self.kinds})

    def make(
        self,
        settings: Any = None,
        *,
        redis: Any = None,
        clock: Callable[[], float] = time.time,
        **http_options: Any,
    ) -> Any:
        """The platform's :class:`~worker.providers.base.Provider`, with an HTTP client of
        its own: for scripts and tests.

        The worker runtime does the same with a pooled session and the fleet's throttle.
        ``http_options`` go to :class:`~worker.providers.http.HttpClient`.
        """
        settings = self.settings() if settings is None else settings
        return self.build(settings, self.connect(settings, **http_options),
                          redis=redis, clock=clock)

    def connect(self, settings: Any, **http_options: Any) -> HttpClient:
        """The HTTP client for this platform: its endpoint, its auth headers, our policy."""
        from worker.providers.http import HttpClient

        endpoint = self.endpoint(settings)
        return HttpClient(self.name, endpoint.base_url, headers=endpoint.headers,
                          **http_options)
