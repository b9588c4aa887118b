"""Fleet-wide limits per platform credential, kept in Redis so every worker obeys them.

Celery's ``rate_limit`` counts per worker; these count for the whole fleet:

- a **token bucket** (``rps`` with ``burst``) that every HTTP attempt for the credential
  draws from. A request that must wait briefly reserves its slot and sleeps; one that would
  wait long raises ``Throttled`` and its step is rescheduled instead of holding a thread;
- a **fleet-wide pause**: a 429 with ``Retry-After`` received by any worker stops every
  worker's requests for that credential until the pause ends;
- a **create pace**: a second bucket of the same kind (``create_rps``, on by default) that
  only the creation of remote jobs draws from, before the create is noted on the job. A
  batch's creates then reach the platform at a steady pace instead of as fast as the
  workers' threads can send them: creation is the one burst a fleet makes on its own, since
  status sweeps cost a few requests per second however many jobs wait.

Time comes from Redis (``TIME``), so workers on different machines share one clock.
Both are Lua scripts (``worker/lua/limit_*.lua``). The in-flight limit (remote jobs alive at
once) is :mod:`worker.inflight`, counted atomically with the job state.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import redis
from pydantic_settings import BaseSettings

from worker import keys, scripts
from worker.credentials import fingerprint
from worker.errors import Throttled
from worker.telemetry import recorder

MAX_SLEEP_S = 2.0  # longer waits give the thread back and reschedule the step
DEFAULT_PAUSE_S = 1.0  # a 429 without Retry-After still pauses the fleet this long
MAX_PAUSE_S = 300.0  # a Retry-After beyond this is treated as this
WAITS = "jobfleet_throttle_waits_total"  # see worker.telemetry
WAIT_SECONDS = "jobfleet_throttle_wait_seconds_total"


def credential_id(provider: str, settings: BaseSettings) -> str:
    """A stable, non-reversible name for the credential in ``settings`` (for Redis keys)."""
    return fingerprint(provider, settings)


class FleetThrottle:
    """The limiter of one credential; plugs into ``HttpClient(throttle=...)``.

    ``key`` names another bucket of the credential (see :func:`create_pace`).
    """

    def __init__(
        self,
        client: redis.Redis,
        credential: str,
        *,
        rps: float | None,
        burst: int,
        sleep: Callable[[float], None] = time.sleep,
        key: str | None = None,
    ) -> None:
        self.key = key or keys.limit_key(credential)
        self.credential = credential
        self.provider = credential.split(":", 1)[0]
        self.rps = rps or 0.0
        self.burst = max(burst, 1)
        self.sleep = sleep
        self._acquire = client.register_script(scripts.read("limit_acquire"))
        self._pause = client.register_script(scripts.read("limit_pause"))

    def before_request(self) -> float:
        """Waits for this credential's next request slot; returns when that slot is, on
        Redis's clock (the time the bucket counts in, whatever the sender's delays).

        Raises ``Throttled`` instead when the slot is more than :data:`MAX_SLEEP_S` away.
        """
        return self.acquire()[0]

    def acquire(self) -> tuple[float, float]:
        """:meth:`before_request`, also telling how long it slept: ``(slot, seconds)``."""
        slept = 0.0
        while True:
            raw_wait, reserved, slot = self._acquire(keys=[self.key],
                                                     args=[self.rps, self.burst, MAX_SLEEP_S])
            wait = float(raw_wait)
            if wait > MAX_SLEEP_S:
                recorder.count(WAITS, platform=self.provider, outcome="handed_back")
                raise Throttled(f"fleet-wide limit: next request slot in {wait:.1f}s",
                                provider=self.provider, retry_after=wait)
            if wait > 0:
                recorder.count(WAITS, platform=self.provider, outcome="slept")
                recorder.count(WAIT_SECONDS, wait, platform=self.provider)
                self.sleep(wait)
                slept += wait
            if reserved:
                return float(slot), slept

    def rate_limited(self, retry_after: float | None) -> None:
        pause = DEFAULT_PAUSE_S if retry_after is None else min(retry_after, MAX_PAUSE_S)
        self._pause(keys=[self.key, keys.PAUSES], args=[pause, self.credential])


def create_pace(client: redis.Redis, credential: str, *, rps: float,
                burst: int) -> FleetThrottle | None:
    """The fleet-wide pace of ``credential``'s creates; None when unpaced (``rps`` 0).

    ``before_request()`` sleeps for a slot up to :data:`MAX_SLEEP_S`, or raises ``Throttled``
    (the submit step is rescheduled, no error counted). It draws from its own bucket: polls,
    sweeps and downloads never wait behind a batch's creates, and still draw from the
    request bucket (``rps``) when one is set, as the create's HTTP request does too.
    """
    if not rps:
        return None
    return FleetThrottle(client, credential, rps=rps, burst=burst,
                         key=keys.create_pace_key(credential))
