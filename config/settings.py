"""Typed settings, one object per concern, read from the environment once.

Each platform's own settings live with its package (``worker/providers/<name>/settings.py``,
named by its spec) with the official client's variable names (``DO_*``, ``MODERATELY_*``,
``OPENPROTEIN_*``); what is here is the fleet's own (``JOBFLEET_*``).
Secrets are ``SecretStr``: their ``repr`` and ``str`` never show the value.
"""

from __future__ import annotations

from functools import cache, lru_cache
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Defaults, each with its reason.
DEFAULT_REDIS_URL = "redis://localhost:6379/0"  # the conventional local Redis
DEFAULT_RESULTS_URL = "jobfleet-results"  # a local folder, relative to the working directory
LEASE_S = 15.0  # a started step's lease, kept by heartbeat: a dead worker's steps return so soon
PICKUP_S = 10.0  # a dispatched message no worker has started by then is dispatched again
# (the floor: the window widens while the queue is slow, see worker.pickup)
PICKUP_MAX_S = 120.0  # the widest the pickup window grows however slow the queue: a dead
# worker's unstarted work is never stranded longer
DISPATCH_INTERVAL_S = 0.5  # how often due work is looked for: completion seen in seconds
DISPATCH_BATCH = 500  # due jobs claimed per dispatcher round trip
CHUNK_SIZE = 20  # job ids per Celery message: fewer messages, still spread over workers
QUEUE_HIGH_WATER = 50  # messages waiting in a step's queue beyond which dispatch pauses
CONSUMER_STALL_S = 60.0  # a worker whose consumer takes nothing this long while work waits and
# it has room exits for its supervisor to replace it (worker.liveness); longer than kombu's own
# repair of a silent BRPOP connection (51 s with our transport options), so that goes first
CONSUMER_STALL_MIN_S = 10.0  # shorter, an ordinary reconnect (a few seconds) could pass for a stall
VISIBILITY_TIMEOUT_S = 600  # Redis redelivery backstop; our leases recover far sooner
MAX_STEP_ERRORS = 8  # consecutive transient failures of one job's step before it fails
HTTP_TIMEOUT_S = 10.0  # per request; a step longer than the lease is kept by its heartbeat
HTTP_RETRIES = 2  # in-client retries of idempotent requests before giving the step back
RETENTION_DAYS = 30.0  # ended jobs, their result files and finished batches go this long after
MAX_RESPONSE_MB = 256.0  # one platform answer held in memory; far above any real result file
POLL_INITIAL_S = 2.0  # first status check after submission
POLL_FACTOR = 1.5  # growth per check: a 1 h job costs ~20 checks, not 720
POLL_CAP_S = 60.0  # completion noticed within a minute even for long jobs
POLL_JITTER = 0.1  # ±10 %: spreads a batch submitted together
BURST = 10  # requests a credential may send at once above its steady rate
# Creates per second per credential, fleet-wide, unless set: within the average pace of a
# hand-written Celery app of 32 threads creating on one platform, below its busiest second in
# all but the most loaded runs measured (README, "Fleet-wide limits"); 100,000 jobs need at
# least 500 s to exist. 0 = unpaced.
CREATE_RPS = 200.0
REDIS_SCHEMES = ("redis", "rediss", "unix")
API_MAX_BODY_BYTES = 16 * 1024 * 1024  # an HTTP-enqueued batch: ~50,000 typical job lines
SWEEP_MIN_S = 0.5  # sweep interval while jobs are finishing: completion seen in about a second
SWEEP_MAX_S = 15.0  # interval reached while nothing changes: cheap, still prompt for long jobs
SWEEP_FALLBACK_S = 120.0  # a running job unseen by sweeps this long gets its own status request


class FleetSettings(BaseSettings):
    """Settings of the fleet itself: broker, job store, scheduling."""

    model_config = SettingsConfigDict(env_prefix="JOBFLEET_", extra="ignore")

    redis_url: str = DEFAULT_REDIS_URL
    results_url: str = DEFAULT_RESULTS_URL  # a folder, or a URL such as s3://bucket/prefix
    lease_s: float = Field(LEASE_S, gt=0)
    pickup_s: float = Field(PICKUP_S, gt=0)
    pickup_max_s: float = Field(PICKUP_MAX_S, gt=0)
    dispatch_interval_s: float = Field(DISPATCH_INTERVAL_S, gt=0)
    dispatch_batch: int = Field(DISPATCH_BATCH, gt=0)
    chunk_size: int = Field(CHUNK_SIZE, gt=0)
    queue_high_water: int = Field(QUEUE_HIGH_WATER, gt=0)
    visibility_timeout_s: int = Field(VISIBILITY_TIMEOUT_S, gt=0)
    consumer_stall_s: float = Field(CONSUMER_STALL_S, ge=CONSUMER_STALL_MIN_S)
    max_step_errors: int = Field(MAX_STEP_ERRORS, gt=0)
    http_timeout_s: float = Field(HTTP_TIMEOUT_S, gt=0)
    http_retries: int = Field(HTTP_RETRIES, ge=0)
    max_response_mb: float = Field(MAX_RESPONSE_MB, gt=0)
    retention_days: float = Field(RETENTION_DAYS, gt=0)
    adopt_by_payload: bool = False  # a lost create matched by inputs alone: off, never guess

    @property
    def retention_s(self) -> int:
        """The retention in whole seconds (at least one), as Redis expiries take it."""
        return max(1, round(self.retention_days * 86400))

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, url: str) -> str:
        """A URL without a scheme would otherwise fail deep inside the client, unnamed."""
        if urlsplit(url).scheme not in REDIS_SCHEMES:
            raise ValueError("must be a URL starting with redis://, rediss:// or unix://")
        return url


class PollSettings(BaseSettings):
    """The poll schedule; see :class:`worker.backoff.PollPolicy`."""

    model_config = SettingsConfigDict(env_prefix="JOBFLEET_POLL_", extra="ignore")

    initial_s: float = Field(POLL_INITIAL_S, gt=0)
    factor: float = Field(POLL_FACTOR, ge=1)
    cap_s: float = Field(POLL_CAP_S, gt=0)
    jitter: float = Field(POLL_JITTER, ge=0, lt=1)


class SweepSettings(BaseSettings):
    """Status sweeps (see :mod:`worker.sweep`); ``enabled=false`` polls job by job only."""

    model_config = SettingsConfigDict(env_prefix="JOBFLEET_SWEEP_", extra="ignore")

    enabled: bool = True
    min_s: float = Field(SWEEP_MIN_S, gt=0)
    max_s: float = Field(SWEEP_MAX_S, gt=0)
    fallback_s: float = Field(SWEEP_FALLBACK_S, gt=0)


class LimitSettings(BaseSettings):
    """Fleet-wide limits for one platform credential; unset means unlimited, except creates.

    Read from ``JOBFLEET_<PROVIDER>_RPS``, ``_BURST``, ``_CREATE_RPS`` and ``_MAX_IN_FLIGHT``,
    e.g. ``JOBFLEET_DEEPORIGIN_RPS=20``. ``create_rps`` paces the creation of remote jobs
    (default :data:`CREATE_RPS`, ``0`` = unpaced); ``burst`` applies to both buckets. A 429
    pauses the credential fleet-wide whatever is set.
    """

    model_config = SettingsConfigDict(extra="ignore")

    rps: float | None = Field(None, gt=0)
    burst: int = Field(BURST, ge=1)
    create_rps: float = Field(CREATE_RPS, ge=0)
    max_in_flight: int | None = Field(None, ge=1)


class MonitorSettings(BaseSettings):
    """Settings of ``jobfleet flower``'s own pages, API and metrics."""

    model_config = SettingsConfigDict(env_prefix="JOBFLEET_", extra="ignore")

    metrics_open: bool = False  # /metrics without Flower's login (like --open-metrics)
    api_max_body_bytes: int = Field(API_MAX_BODY_BYTES, gt=0)


@lru_cache(maxsize=1)
def monitor_settings() -> MonitorSettings:
    return MonitorSettings()


@lru_cache(maxsize=1)
def fleet_settings() -> FleetSettings:
    return FleetSettings()


@lru_cache(maxsize=1)
def poll_settings() -> PollSettings:
    return PollSettings()


@lru_cache(maxsize=1)
def sweep_settings() -> SweepSettings:
    return SweepSettings()


@cache
def limit_settings(provider: str) -> LimitSettings:
    """The limits of ``provider``'s credential. A subclass per provider carries its prefix,
    so a validation error names the whole variable (``JOBFLEET_DEEPORIGIN_RPS``)."""
    prefix = f"JOBFLEET_{provider.upper()}_"
    model = type(f"LimitSettings_{provider}", (LimitSettings,),
                 {"model_config": SettingsConfigDict(env_prefix=prefix, extra="ignore")})
    return model()


def redacted_url(url: str) -> str:
    """``url`` with any password replaced by ``***``: safe for messages and logs."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        user = parts.username or ""
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
        return urlunsplit(parts._replace(netloc=f"{user}:***@{host}{port}"))
    except ValueError:
        return "<unparseable URL>"


_SECRET_FIELDS = ("url", "password", "token", "key")  # inputs never echoed as given


def _settings_models() -> dict[str, type[BaseSettings]]:
    """Every settings class loaded so far, by name: the fleet's and each platform's.

    A class that failed validation has been imported, so walking the subclasses finds it
    without this module importing the platforms (which import it).
    """
    found: dict[str, type[BaseSettings]] = {}
    todo = list(BaseSettings.__subclasses__())
    while todo:
        model = todo.pop()
        found.setdefault(model.__name__, model)
        todo.extend(model.__subclasses__())
    return found


def settings_problem(exc: ValidationError) -> str:
    """One line naming each variable that failed validation and why (no secret echoed)."""
    model = _settings_models().get(exc.title)
    prefix = model.model_config.get("env_prefix", "") if model else ""
    parts = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else "?"
        given = error.get("input")
        if any(word in field for word in _SECRET_FIELDS):
            given = redacted_url(given) if isinstance(given, str) else given
            given = given if "url" in field else "***"
        message = error["msg"].removeprefix("Value error, ")
        parts.append(f"{prefix}{field.upper()}={given!r} is invalid: {message}")
    return "; ".join(parts)
