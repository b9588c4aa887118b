"""What one worker process holds: its Redis connection, job store, providers and result store.

Built once per process on first use and shared by the process's threads: each platform gets
one pooled HTTP client, opened from its spec, so connections are reused at volume.
"""

from __future__ import annotations

import threading
import time
from functools import cached_property

import redis

from config.settings import (
    FleetSettings,
    fleet_settings,
    limit_settings,
    poll_settings,
    sweep_settings,
)
from worker import keys
from worker.backoff import PollPolicy
from worker.decide import Policy
from worker.errors import AuthError, ConfigError
from worker.heartbeat import Heartbeat
from worker.inflight import InFlightLimit
from worker.limits import FleetThrottle, create_pace, credential_id
from worker.providers import UnknownProvider, get_spec, provider_names, specs
from worker.providers.base import Provider
from worker.results.store import ResultStore
from worker.store import JobStore, connect_redis
from worker.sweep_policy import SweepPolicy

CREATE_SETTLE_TIMEOUTS = 2  # an unanswered create is searched for at once, and searched again
# (never created again) until two timeouts after it was sent: a slow platform may process it late
HTTP_POOL_SIZE = 32  # at least the thread-pool concurrency we document
AUTH_FAILURE_TTL_S = 30  # after a 401/403, other jobs fail at once instead of asking again


class Runtime:
    """Lazily built per-process resources."""

    def __init__(self, settings: FleetSettings | None = None) -> None:
        self.settings = settings or fleet_settings()
        self._providers: dict[str, Provider | ConfigError] = {}
        self._credentials: dict[str, str] = {}  # provider → its credential's fingerprint
        self._create_paces: dict[str, FleetThrottle | None] = {}  # provider → its creates' pace
        self._lock = threading.Lock()

    @cached_property
    def redis(self) -> redis.Redis:
        return connect_redis(self.settings.redis_url)

    @cached_property
    def store(self) -> JobStore:
        return JobStore(self.redis, retention_s=self.settings.retention_s)

    @cached_property
    def heartbeat(self) -> Heartbeat:
        """Keeps this process's started steps leased (its thread runs in workers only)."""
        return Heartbeat(self.store, provider_names(), self.settings.lease_s)

    @cached_property
    def results(self) -> ResultStore:
        return ResultStore(self.settings.results_url)

    @cached_property
    def policy(self) -> Policy:
        """How the steps wait and retry, from the settings (see :mod:`worker.decide`)."""
        p = poll_settings()
        poll = PollPolicy(initial_s=p.initial_s, factor=p.factor, cap_s=p.cap_s, jitter=p.jitter)
        return Policy(poll=poll, lease_s=self.settings.lease_s,
                      create_settle_s=CREATE_SETTLE_TIMEOUTS * self.settings.http_timeout_s,
                      max_step_errors=self.settings.max_step_errors,
                      swept=self.swept_platforms(), sweep_fallback_s=self.sweep_policy.fallback_s)

    @cached_property
    def sweep_policy(self) -> SweepPolicy:
        s = sweep_settings()
        return SweepPolicy(min_s=s.min_s, max_s=max(s.max_s, s.min_s), fallback_s=s.fallback_s)

    def swept_platforms(self) -> frozenset[str]:
        """Platforms whose running jobs status sweeps cover (see :mod:`worker.sweep`): those
        that can list many jobs at once, unless sweeps are switched off."""
        if not sweep_settings().enabled:
            return frozenset()
        return frozenset(name for name, spec in specs().items() if spec.capabilities.bulk_list)

    @cached_property
    def in_flight(self) -> InFlightLimit:
        """The per-provider cap on remote jobs alive at once."""
        return InFlightLimit(self.store, self.max_in_flight)

    def provider(self, name: str) -> Provider:
        """The process's instance of provider ``name``; raises ``ConfigError`` if unusable."""
        with self._lock:
            if name not in self._providers:
                try:
                    self._providers[name] = self._build(name)
                except ConfigError as exc:
                    self._providers[name] = exc
                except UnknownProvider as exc:
                    self._providers[name] = ConfigError(str(exc))
            found = self._providers[name]
        if isinstance(found, ConfigError):
            raise found
        refused = self.redis.get(keys.authfail_key(self._credentials[name]))
        if refused:
            raise AuthError(f"{refused} (remembered; not asked again for up to "
                            f"{AUTH_FAILURE_TTL_S}s)", provider=name)
        return found

    def remember_auth_failure(self, name: str, exc: AuthError) -> None:
        """Lets every worker with this credential fail its jobs at once for a while, with the
        reason, instead of each job meeting the same 401 (no retry storm). Keyed by the
        credential's fingerprint: a worker with another (a corrected) credential is not held
        back. ``exc.provider`` wins over ``name``: a refused upload target is not the job's."""
        credential = self._credentials.get(exc.provider) or self._credentials.get(name)
        if credential is not None:
            self.redis.set(keys.authfail_key(credential), exc.describe(), nx=True,
                           ex=AUTH_FAILURE_TTL_S)
            # indexed, so the fleet page finds refusals without scanning for their keys
            self.redis.zadd(keys.REFUSALS, {credential: time.time() + AUTH_FAILURE_TTL_S})

    def _build(self, name: str) -> Provider:
        """The platform's settings, one pooled HTTP client behind the fleet's throttle for its
        credential, and the provider built on them (``ConfigError`` naming a bad setting)."""
        spec = get_spec(name)
        settings = spec.settings()
        limits = limit_settings(name)
        self._credentials[name] = credential_id(name, settings)
        throttle = FleetThrottle(self.redis, self._credentials[name],
                                 rps=limits.rps, burst=limits.burst)
        self._create_paces[name] = create_pace(self.redis, self._credentials[name],
                                               rps=limits.create_rps, burst=limits.burst)
        http = spec.connect(settings, pool_size=HTTP_POOL_SIZE, throttle=throttle,
                            timeout_s=self.settings.http_timeout_s,
                            retries=self.settings.http_retries)
        return spec.build(settings, http, redis=self.redis)

    def pace_create(self, name: str) -> float:
        """Waits for provider ``name``'s next create slot, fleet-wide, or raises ``Throttled``
        (see :func:`worker.limits.create_pace`); returns the seconds it slept."""
        self.provider(name)
        pace = self._create_paces.get(name)
        return pace.acquire()[1] if pace is not None else 0.0

    def credential(self, name: str) -> str:
        """The fingerprint of provider ``name``'s credential (for fleet-wide keys)."""
        self.provider(name)
        return self._credentials[name]

    def max_in_flight(self, name: str) -> int | None:
        """The configured cap on remote jobs alive at once for provider ``name``."""
        return limit_settings(name).max_in_flight

    def close(self) -> None:
        for provider in self._providers.values():
            if isinstance(provider, Provider):
                provider.close()


runtime = Runtime()
