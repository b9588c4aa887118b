"""When the next status sweep runs, as data.

A sweep lists many remote jobs per request (see :mod:`worker.sweep`); this module decides
only *when*. :class:`SweepPolicy` is a frozen value with pure functions: every input (what
the last sweep found, the credential's rate limit, when the next job is expected to end)
comes in as an argument, so the schedule is tested with a table and never by sleeping.

The interval adapts the way cluster schedulers' pollers do:

- **short while jobs are finishing**: a sweep that found jobs ended, or new jobs to watch,
  resets it to ``min_s`` (and with nothing to watch it stays there: such a sweep is free);
- **growing while nothing changes**: otherwise it grows by ``growth`` up to ``max_s``;
- **shortened as the earliest expected completion approaches**: never past that moment;
- **bounded by the fleet-wide rate limit**: a sweep of ``n`` requests waits at least
  ``n / (rps * rate_share)`` seconds, so sweeps use at most a share of the credential's
  configured requests per second; with no limit configured, ``default_rps`` in full (40 of
  the 50 requests per second the fleet allows itself per platform while its jobs wait);
- after a failed sweep it backs off from ``min_s`` by doubling, capped at ``max_s``.

``fallback_s`` is how long a running job may go unseen by sweeps before its own per-job
status request is due: every sweep that sees a job pushes that request out again.

**How far a sweep walks.** Once a kind's shortest run is known, a job of that kind
:meth:`~SweepPolicy.may_have_ended` only from ``early_s`` before its creation plus that run;
a sweep may stop as soon as it has seen every job that may have ended (lists are read
oldest first, so those are on the first pages). Every page is walked when
:meth:`~SweepPolicy.walks_all` says so: while no run time is known, and at least every
``full_every_s`` (at most half of ``fallback_s``), so a job that ends far earlier than its
kind's shortest run is still seen within that, and no job seen running reaches its fallback.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SweepOutcome:
    """What one sweep did: requests sent, jobs found ended, whether it failed midway, and
    how many jobs it watched, of which how many were new since the sweep before."""

    requests: int
    ended: int
    failed: bool = False
    watched: int = 1
    arrived: int = 0


@dataclass(frozen=True)
class SweepPolicy:
    """The adaptive sweep interval of one platform credential."""

    min_s: float = 0.5
    max_s: float = 15.0
    growth: float = 1.5
    rate_share: float = 0.5  # of the credential's fleet-wide rate limit
    default_rps: float = 40.0  # sweep requests per second when no limit is configured
    fallback_s: float = 120.0  # unseen this long → one per-job status request
    full_every_s: float = 60.0  # every page walked at least this often (≤ fallback_s / 2)
    early_s: float = 30.0  # a job may have ended this long before its kind's shortest run

    def __post_init__(self) -> None:
        if not 0 < self.min_s <= self.max_s or self.growth < 1:
            raise ValueError(f"inconsistent sweep policy: {self}")
        if not 0 < self.rate_share <= 1 or self.default_rps <= 0 or self.fallback_s <= 0:
            raise ValueError(f"inconsistent sweep policy: {self}")
        if self.full_every_s <= 0 or self.early_s < 0:
            raise ValueError(f"inconsistent sweep policy: {self}")

    def next_interval(
        self,
        previous: float,
        outcome: SweepOutcome,
        *,
        failures: int = 0,
        rps: float | None = None,
        until_expected: float | None = None,
    ) -> float:
        """Seconds from the end of this sweep to the start of the next.

        ``previous`` is the interval that led to this sweep; ``failures`` counts failed
        sweeps in a row (this one included); ``rps`` is the credential's fleet-wide limit;
        ``until_expected`` is the time until the earliest expected completion, if known.
        """
        if outcome.failed:
            wanted = min(self.min_s * 2 ** min(max(failures - 1, 0), 32), self.max_s)
        elif outcome.ended or outcome.arrived or not outcome.watched:
            wanted = self.min_s
        else:
            wanted = min(max(previous, self.min_s) * self.growth, self.max_s)
        if until_expected is not None and not outcome.failed:
            wanted = min(wanted, max(until_expected, self.min_s))
        return max(wanted, self.rate_floor(outcome.requests, rps))

    def rate_floor(self, requests: int, rps: float | None) -> float:
        """The shortest interval that keeps a sweep of ``requests`` within its rate share."""
        allowed = (rps or self.default_rps) * (self.rate_share if rps else 1.0)
        return requests / allowed

    def walks_all(self, now: float, walked_all_at: float | None, runs_known: bool) -> bool:
        """Whether the sweep at ``now`` must walk every page: no run time known yet, no walk
        over every page yet (``walked_all_at`` None), or the last one too long ago."""
        if not runs_known or walked_all_at is None:
            return True
        return now - walked_all_at >= min(self.full_every_s, self.fallback_s / 2)

    def may_have_ended(self, since: float, shortest_run: float | None, now: float) -> bool:
        """Whether a job created at ``since`` may have ended by ``now``, its kind's shortest
        run seen so far being ``shortest_run`` (None: unknown, so it may)."""
        return shortest_run is None or since + shortest_run - self.early_s <= now
