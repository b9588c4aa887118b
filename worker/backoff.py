"""The poll schedule, as data.

A :class:`PollPolicy` is a frozen value with one pure function, :meth:`PollPolicy.delay`;
the clock and randomness come in as arguments, so the schedule is tested with a table and
never by sleeping. Choose a small ``initial_s`` when jobs are short and finishing quickly
matters, a larger ``cap_s`` when jobs run for hours and requests cost money.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class PollPolicy:
    """Exponential backoff with a cap and proportional jitter.

    ``delay(n)`` is ``min(initial_s * factor**n, cap_s)``, spread by ±``jitter``; a platform's
    hint replaces the computed value but still lies within ``[min_s, cap_s]``; nothing is
    ever scheduled past the job's deadline.
    """

    initial_s: float = 2.0
    factor: float = 1.5
    cap_s: float = 60.0
    jitter: float = 0.1
    min_s: float = 0.2  # a hint of "0" must not turn into a busy loop

    def __post_init__(self) -> None:
        if self.initial_s <= 0 or self.cap_s < self.initial_s or self.factor < 1:
            raise ValueError(f"inconsistent poll policy: {self}")
        if not 0 <= self.jitter < 1:
            raise ValueError(f"jitter must be in [0, 1): {self.jitter}")

    def delay(
        self,
        attempt: int,
        *,
        hint: float | None = None,
        remaining: float | None = None,
        rand: float | None = None,
    ) -> float:
        """Seconds until the next status check.

        ``attempt`` counts checks already made (0 for the first). ``hint`` is the platform's
        own suggestion (``Retry-After`` or a poll interval). ``remaining`` is the time left
        before the job's deadline. ``rand`` in [0, 1) replaces the random draw, for tests.
        """
        if hint is not None and hint >= 0:
            base = hint
        else:
            base = self.initial_s * self.factor ** min(attempt, 64)
            spread = (rand if rand is not None else random.random()) * 2 - 1
            base *= 1 + self.jitter * spread
        delay = min(max(base, self.min_s), self.cap_s)
        if remaining is not None:
            delay = min(delay, max(remaining, 0.0))
        return delay
