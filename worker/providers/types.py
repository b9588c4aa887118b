"""What the fleet and a platform's provider hand each other, as plain values.

A job to create (:class:`JobSpec`) and what became of the create (:data:`CreateOutcome`:
``Created``, ``Refused`` or ``Unknown``); a status, normalised (:class:`RemoteStatus`); the
jobs a sweep looks for and the rows it reads (:class:`Watched`, :data:`Listed`); a finished
job's result (:class:`Outputs`). The interface that produces them is
:class:`worker.providers.base.Provider`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class RemoteState(enum.StrEnum):
    """A platform's status, normalised. Only the last three are terminal."""

    PENDING = "pending"  # accepted, not started (Created, Queued, PENDING…)
    QUOTED = "quoted"  # waiting for a price confirmation (Deep Origin)
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in (RemoteState.SUCCEEDED, RemoteState.FAILED, RemoteState.CANCELLED)


@dataclass(frozen=True)
class RemoteStatus:
    """What one status request told us about one remote job."""

    state: RemoteState
    raw: str  # the platform's own status string, kept for the record and for messages
    detail: str | None = None  # the platform's failure reason, if any
    poll_hint: float | None = None  # seconds until asking again, if the platform suggested it
    record: Mapping[str, Any] = field(default_factory=dict, repr=False)  # the raw record


@dataclass(frozen=True)
class JobSpec:
    """What a provider needs to create one remote job. Holds no credential."""

    job_id: str  # ours; sent to the platform as a tag / idempotency key where it accepts one
    kind: str
    params: Mapping[str, Any]
    max_price: float | None = None  # a price ceiling, for platforms that quote
    create_started: float | None = None  # epoch time an earlier create attempt began, if any
    settle_at: float = 0.0  # that create may still be processed until then: a search that
    # began earlier may find it, never show it absent
    adopt_by_payload: bool = False  # a lost create may be found by identical inputs alone


@dataclass(frozen=True)
class Submission:
    """A remote job that now exists."""

    remote_id: str
    status: RemoteStatus


@dataclass(frozen=True)
class Created:
    """The create request succeeded: the remote job exists."""

    submission: Submission


@dataclass(frozen=True)
class Refused:
    """The platform answered no: nothing was created, a later attempt need not search."""

    error: Exception


@dataclass(frozen=True)
class Unknown:
    """No usable answer to the create request: the remote job may exist, search first."""

    error: Exception


CreateOutcome = Created | Refused | Unknown


@dataclass(frozen=True, slots=True)
class Watched:
    """A running remote job that a status sweep looks for in the platform's lists."""

    remote_id: str
    kind: str
    since: float  # epoch seconds: the remote job was created no earlier than this (our clock)


Listed = tuple[str, RemoteStatus]  # (remote id, its status) from one row of a list page


@dataclass(frozen=True)
class Outputs:
    """A finished job's result: JSON-able data plus any output files (name → bytes)."""

    data: Mapping[str, Any]
    files: Mapping[str, bytes] = field(default_factory=dict)
