"""Fleet-wide limits per platform credential, kept in Redis so every worker obeys them.

Celery's ``rate_limit`` counts per worker; these count for the whole fleet:

- a **token bucket** (``rps`` with ``burst``) that every HTTP attempt for the credential
  draws from. A request that must wait briefly reserves its slot and sleeps; one that would
  wait long raises ``Throttled`` and its step is rescheduled instead of holding a thread;
- a **fleet-wide pause**: a 429 with ``Retry-After`` received by any worker stops every
  worker's requests for that credential until the pause ends.

Time comes from Redis (``TIME``), so workers on different machines share one clock.
The in-flight limit (remote jobs alive at once) lives with the job state in
:mod:`worker.store`, where it can be enforced atomically.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import redis
from pydantic_settings import BaseSettings

from worker import keys
from worker.credentials import fingerprint
from worker.errors import Throttled
from worker.telemetry import recorder

MAX_SLEEP_S = 2.0  # longer waits give the thread back and reschedule the step
DEFAULT_PAUSE_S = 1.0  # a 429 without Retry-After still pauses the fleet this long
MAX_PAUSE_S = 300.0  # a Retry-After beyond this is treated as this
WAITS = "jobfleet_throttle_waits_total"  # see worker.telemetry
WAIT_SECONDS = "jobfleet_throttle_wait_seconds_total"

# KEYS: bucket hash. ARGV: rate (0 = no bucket), burst, max wait.
# Returns {seconds to wait, 1 if a slot was reserved}: {0, 1} = go now; {w, 1} = sleep w, then
# go; {w, 0} = paused or too long a wait: nothing reserved, ask again after w.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local pause = tonumber(redis.call('HGET', KEYS[1], 'pause_until') or '0')
if pause > now then return {tostring(pause - now + 0.001), 0} end
local rate, burst, max_wait = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
if rate <= 0 then return {'0', 1} end
local tokens = tonumber(redis.call('HGET', KEYS[1], 'tokens') or ARGV[2])
local ts = tonumber(redis.call('HGET', KEYS[1], 'ts') or now)
tokens = math.min(burst, tokens + math.max(now - ts, 0) * rate)
local wait, reserved = 0, 0
if tokens < 1 then wait = (1 - tokens) / rate end
if wait <= max_wait then tokens = tokens - 1; reserved = 1 end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('EXPIRE', KEYS[1], 3600)
return {tostring(wait), reserved}
"""

# KEYS: bucket hash, pauses index. ARGV: pause seconds, credential. Extends (never shortens)
# the fleet-wide pause, and notes its end in the index of pauses (read by the fleet page).
_PAUSE = """
local t = redis.call('TIME')
local until_ = tonumber(t[1]) + tonumber(t[2]) / 1000000 + tonumber(ARGV[1])
local cur = tonumber(redis.call('HGET', KEYS[1], 'pause_until') or '0')
if until_ > cur then
  redis.call('HSET', KEYS[1], 'pause_until', tostring(until_))
  redis.call('HSET', KEYS[2], ARGV[2], tostring(until_))
end
redis.call('EXPIRE', KEYS[1], 3600)
return tostring(math.max(until_, cur))
"""


def credential_id(provider: str, settings: BaseSettings) -> str:
    """A stable, non-reversible name for the credential in ``settings`` (for Redis keys)."""
    return fingerprint(provider, settings)


class FleetThrottle:
    """The limiter of one credential; plugs into ``HttpClient(throttle=...)``."""

    def __init__(
        self,
        client: redis.Redis,
        credential: str,
        *,
        rps: float | None,
        burst: int,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.key = keys.limit_key(credential)
        self.credential = credential
        self.provider = credential.split(":", 1)[0]
        self.rps = rps or 0.0
        self.burst = max(burst, 1)
        self.sleep = sleep
        self._acquire = client.register_script(_ACQUIRE)
        self._pause = client.register_script(_PAUSE)

    def before_request(self) -> None:
        while True:
            raw_wait, reserved = self._acquire(keys=[self.key],
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
            if reserved:
                return

    def rate_limited(self, retry_after: float | None) -> None:
        pause = DEFAULT_PAUSE_S if retry_after is None else min(retry_after, MAX_PAUSE_S)
        self._pause(keys=[self.key, keys.PAUSES], args=[pause, self.credential])
