"""How one HTTP request is retried: tenacity's pieces, composed once for every platform.

This is the only place jobfleet retries a request, and it does so briefly, because it runs
inside a worker thread that holds a lease. Only a transient failure is retried, and only when
repeating it is safe: an idempotent request, or any request the platform refused with a 429
(it was not processed) — never a create after a timeout or 5xx it may have survived. The
server's ``Retry-After`` replaces the computed backoff; a hint past the cap, or sleeping past
the budget in all, is raised to the task layer, which reschedules the job instead of holding
the thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt
from tenacity.stop import stop_base
from tenacity.wait import wait_base, wait_exponential_jitter

from worker.errors import RateLimited, TransientError

log = logging.getLogger("worker.providers.http")  # retries are the HTTP layer's lines

RETRY_AFTER_CAP_S = 5.0  # a longer server hint is the task layer's to honour, not a thread's
SLEEP_BUDGET_S = 5.0  # total sleeping per request: past this the step is handed back
BACKOFF_FIRST_S = 0.5  # first retry soon: most 5xx blips are short
BACKOFF_MAX_S = 2.0  # no single computed sleep longer than this
BACKOFF_JITTER_S = 0.5  # spreads threads that failed at the same moment


class _WaitRetryAfter(wait_base):
    """Sleeps what the server asked for (already within the cap), else the fallback backoff."""

    def __init__(self, fallback: wait_base) -> None:
        self.fallback = fallback

    def __call__(self, retry_state: RetryCallState) -> float:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        hint = getattr(exc, "retry_after", None)
        return hint if hint is not None else self.fallback(retry_state)


class _StopPastSleepBudget(stop_base):
    """Stops once the next sleep would take the total slept past ``budget`` seconds."""

    def __init__(self, budget: float) -> None:
        self.budget = budget

    def __call__(self, retry_state: RetryCallState) -> bool:
        return retry_state.idle_for + retry_state.upcoming_sleep > self.budget


def _log_retry(retry_state: RetryCallState) -> None:
    """One INFO line per retry: an absorbed blip is routine, not an error."""
    exc = retry_state.outcome.exception() if retry_state.outcome else None
    log.info(
        "retry %d in %.2fs after: %s", retry_state.attempt_number, retry_state.upcoming_sleep, exc
    )


def retryable(exc: BaseException, *, idempotent: bool, retry_after_cap: float) -> bool:
    """Worth another attempt now: transient, a hint within the cap, and safe to repeat."""
    if not isinstance(exc, TransientError):
        return False
    if exc.retry_after is not None and exc.retry_after > retry_after_cap:
        return False
    return idempotent or isinstance(exc, RateLimited)


def retrying(*, retries: int, idempotent: bool, sleep: Callable[[float], None],
             sleep_budget: float = SLEEP_BUDGET_S,
             retry_after_cap: float = RETRY_AFTER_CAP_S) -> Retrying:
    """The retry policy of one request: at most ``retries`` more attempts, within the sleep
    budget, each after the server's hint or a jittered exponential backoff."""
    backoff = wait_exponential_jitter(
        multiplier=BACKOFF_FIRST_S, max=BACKOFF_MAX_S, jitter=BACKOFF_JITTER_S
    )
    return Retrying(
        stop=stop_after_attempt(retries + 1) | _StopPastSleepBudget(sleep_budget),
        wait=_WaitRetryAfter(backoff),
        retry=retry_if_exception(lambda exc: retryable(
            exc, idempotent=idempotent, retry_after_cap=retry_after_cap)),
        sleep=sleep,
        before_sleep=_log_retry,
        reraise=True,
    )
