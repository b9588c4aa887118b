"""The shared job clock: remote jobs whose status is a pure function of time.

A job is a small record holding *when* its clock started and *how* it will end; nothing runs
in the background. Every read computes the phase from `now`, so the emulator can hold 100,000
jobs at the cost of their records, and a test can predict exactly what a poll will see.

Phases (providers map them onto their own status strings):

    quoted --confirm--> queued --queue_s--> running --duration_s--> succeeded | failed
       \\________________\\______________________\\--cancel--> cancelled

The outcome (and failure reason, price, timings) is decided at creation and stored on the
record, so tests and stats can compare what a client reports with what the emulator was told
to produce. A job created "quoted" has no clock until it is confirmed.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from emulator.settings import ProviderSettings

QUOTED, QUEUED, RUNNING = "quoted", "queued", "running"
SUCCEEDED, FAILED, CANCELLED = "succeeded", "failed", "cancelled"
TERMINAL_PHASES = frozenset({SUCCEEDED, FAILED, CANCELLED})
OUTCOMES = (SUCCEEDED, FAILED)
OVERRIDE_FIELD = "_emulator"
OVERRIDE_KEYS = frozenset(
    {"duration_s", "outcome", "reason", "price", "queue_s", "reject", "unlisted", "lose_answer"}
)
DEFAULT_FAILURE_REASON = "emulated failure (failure_rate)"


class OverrideError(ValueError):
    """The reserved `_emulator` object in a job's inputs is malformed."""


@dataclass(frozen=True, slots=True)
class Plan:
    """How one job will behave, decided once when it is created."""

    queue_s: float
    duration_s: float
    outcome: str
    reason: str | None
    price: float
    unlisted: bool = False  # left out of every list and search (tests a client's fallback)
    lose_answer: bool = False  # its create is processed, then the connection is closed


@dataclass(slots=True, eq=False)
class JobRecord:
    """One remote job. `clock_start` is None while it waits for a confirm."""

    provider: str
    remote_id: str
    created_at: float
    plan: Plan
    clock_start: float | None
    tag: str | None = None
    payload_hash: str = ""
    data: Any = None
    cancelled_at: float | None = None

    def phase(self, now: float) -> str:
        """The job's phase at `now`."""
        if self.cancelled_at is not None:
            return CANCELLED
        if self.clock_start is None:
            return QUOTED
        elapsed = now - self.clock_start
        if elapsed < self.plan.queue_s:
            return QUEUED
        if elapsed < self.plan.queue_s + self.plan.duration_s:
            return RUNNING
        return self.plan.outcome

    def started_at(self, now: float) -> float | None:
        """When it began running, if it has by `now` (a job cancelled in the queue never did)."""
        if self.clock_start is None:
            return None
        start = self.clock_start + self.plan.queue_s
        if start > now or (self.cancelled_at is not None and self.cancelled_at < start):
            return None
        return start

    def finished_at(self, now: float) -> float | None:
        """When it reached a terminal phase, if it has by `now`."""
        if self.cancelled_at is not None:
            return self.cancelled_at
        if self.clock_start is None:
            return None
        end = self.clock_start + self.plan.queue_s + self.plan.duration_s
        return end if end <= now else None

    def progress(self, now: float) -> float:
        """Fraction of the running phase done at `now`, 0.0 to 1.0."""
        started = self.started_at(now)
        if started is None:
            return 0.0
        if self.plan.duration_s <= 0:
            return 1.0
        end = self.finished_at(now) or now
        return max(0.0, min(1.0, (end - started) / self.plan.duration_s))

    def confirm(self, now: float) -> None:
        """Start the clock of a quoted job; the caller checks it is still quoted."""
        self.clock_start = now

    def cancel(self, now: float) -> bool:
        """Cancel unless already terminal; returns whether anything changed."""
        if self.phase(now) in TERMINAL_PHASES:
            return False
        self.cancelled_at = now
        return True

    def to_json(self, now: float) -> dict[str, Any]:
        """The emulator's own view of the job, for `/_emulator/jobs/...` and debugging."""
        return {
            "provider": self.provider,
            "remote_id": self.remote_id,
            "phase": self.phase(now),
            "outcome": self.plan.outcome,
            "reason": self.plan.reason,
            "price": self.plan.price,
            "queue_s": self.plan.queue_s,
            "duration_s": self.plan.duration_s,
            "created_at": self.created_at,
            "clock_start": self.clock_start,
            "started_at": self.started_at(now),
            "finished_at": self.finished_at(now),
            "cancelled_at": self.cancelled_at,
            "tag": self.tag,
            "payload_hash": self.payload_hash,
        }


class JobClock:
    """Draws job plans and tells the time; both are injectable so tests are deterministic."""

    def __init__(self, now: Callable[[], float] = time.time, rng: random.Random | None = None):
        self._now = now
        self.rng = rng or random.Random()

    def now(self) -> float:
        """Current time in epoch seconds, cut to milliseconds.

        Timestamps go out as ISO strings with millisecond precision; storing the same precision
        keeps a `createdAt > X` filter consistent with what clients were shown.
        """
        return math.floor(self._now() * 1000) / 1000

    def plan(self, settings: ProviderSettings, override: Mapping[str, Any] | None) -> Plan:
        """Decide a job's timings, price and outcome from the settings and an override."""
        override = override or {}
        failed = self.rng.random() < settings.failure_rate
        outcome = override.get("outcome", FAILED if failed else SUCCEEDED)
        reason = None
        if outcome == FAILED:
            reason = override.get("reason") or DEFAULT_FAILURE_REASON
        return Plan(
            queue_s=float(override.get("queue_s", settings.queue_s)),
            duration_s=float(override.get("duration_s", settings.duration.sample(self.rng))),
            outcome=outcome,
            reason=reason,
            price=float(override.get("price", settings.price)),
            unlisted=override.get("unlisted", False),
            lose_answer=override.get("lose_answer", False),
        )


def parse_override(raw: Any) -> dict[str, Any] | None:
    """Validate the reserved `_emulator` object from a job's inputs.

    Returns None when absent. Raises OverrideError for unknown keys or bad values, so a typo
    in a test shows up as a 400 instead of a silently ignored override.
    """
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise OverrideError(f"{OVERRIDE_FIELD} must be an object")
    unknown = sorted(set(raw) - OVERRIDE_KEYS)
    if unknown:
        raise OverrideError(f"{OVERRIDE_FIELD}: unknown key(s) {', '.join(unknown)}")
    for key in ("duration_s", "price", "queue_s"):
        value = raw.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
            raise OverrideError(f"{OVERRIDE_FIELD}.{key} must be a number >= 0")
        if not math.isfinite(value):
            raise OverrideError(f"{OVERRIDE_FIELD}.{key} must be finite")
    if "outcome" in raw and raw["outcome"] not in OUTCOMES:
        raise OverrideError(f"{OVERRIDE_FIELD}.outcome must be one of {', '.join(OUTCOMES)}")
    _check_types(raw)
    if "reject" in raw:
        rejection(raw)
    return raw


def _check_types(raw: dict[str, Any]) -> None:
    for flag in ("unlisted", "lose_answer"):
        if flag in raw and not isinstance(raw[flag], bool):
            raise OverrideError(f"{OVERRIDE_FIELD}.{flag} must be true or false")
    if "reason" in raw and not isinstance(raw["reason"], str):
        raise OverrideError(f"{OVERRIDE_FIELD}.reason must be a string")


def rejection(override: dict[str, Any] | None) -> tuple[int, str] | None:
    """The `reject: {"status": 4xx, "message": ...}` override: refuse the create itself.

    Lets a test see how a client handles a platform's permanent 4xx (nothing is created).
    """
    if not override or "reject" not in override:
        return None
    spec = override["reject"]
    status = spec.get("status") if isinstance(spec, dict) else None
    if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 499:
        raise OverrideError(f"{OVERRIDE_FIELD}.reject.status must be an integer 400-499")
    message = spec.get("message", "rejected by the emulator")
    if not isinstance(message, str):
        raise OverrideError(f"{OVERRIDE_FIELD}.reject.message must be a string")
    return status, message
