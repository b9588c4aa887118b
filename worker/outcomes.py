"""What a step decided, as values: outcomes for :mod:`worker.apply`, actions for the step.

A decider (:mod:`worker.decide`) looks at a job, what was just observed and the policy, and
returns one of these. An **outcome** is a change to the store, written by
:func:`worker.apply.apply` and nowhere else. An **action** asks the step to talk to the
platform first (cancel the remote job, search for it, create it, fetch its outputs); what it
sees there goes back into a decider, which answers with an outcome.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from worker.errors import AuthError
from worker.providers.types import RemoteStatus, Submission

Changes = Mapping[str, Any]  # record fields to write (worker.record); None deletes


# -- outcomes: written to the store by worker.apply ------------------------------------------


@dataclass(frozen=True)
class Reschedule:
    """Stay in the current state; run ``step`` again at ``at``, writing ``changes``.

    ``note`` is logged: the reason a step is tried again (an error, a limit).
    """

    step: str
    at: float
    changes: Changes = field(default_factory=dict)
    note: str | None = None


@dataclass(frozen=True)
class Fail:
    """End the job failed with a machine-readable ``reason`` and a message for people."""

    reason: str
    message: str
    changes: Changes = field(default_factory=dict)
    auth: AuthError | None = None  # a refused credential, remembered for the whole fleet


@dataclass(frozen=True)
class Cancel:
    """End the job cancelled, if it is still in one of ``from_states``."""

    from_states: tuple[str, ...]


@dataclass(frozen=True)
class Admit:
    """queued → submitting, if the provider's in-flight limit leaves room."""

    changes: Changes = field(default_factory=dict)


@dataclass(frozen=True)
class CreateStarted:
    """A create request is about to go out: note it, and hold the submit step meanwhile."""

    at: float  # when the request starts; also when a resumed attempt must search from
    retry_at: float  # when the submit step runs again if this worker never comes back


@dataclass(frozen=True)
class Track:
    """A remote job exists for this job: submitting → running, next step scheduled."""

    submission: Submission
    step: str  # "poll", or "finalize" when the remote job had already ended
    at: float
    changes: Changes = field(default_factory=dict)


@dataclass(frozen=True)
class RemoteEnded:
    """The remote job reached a terminal state, seen at ``seen_at``: hand the job to
    finalize at ``at``."""

    status: RemoteStatus
    seen_at: float
    at: float


@dataclass(frozen=True)
class Succeed:
    """running → succeeded with the stored result (and uploaded file, if asked)."""

    changes: Changes


@dataclass(frozen=True)
class Skip:
    """Nothing to write; ``why`` is what the caller reports (e.g. "already failed")."""

    why: str


Outcome = Reschedule | Fail | Cancel | Admit | CreateStarted | Track | RemoteEnded | Succeed | Skip


# -- actions: the step calls the platform, then decides again --------------------------------


@dataclass(frozen=True)
class CancelRemote:
    """Ask the platform to stop the remote job, then end ours cancelled."""


@dataclass(frozen=True)
class Expire:
    """The job ran past its deadline: cancel it remotely (best effort), then fail it."""


@dataclass(frozen=True)
class Search:
    """An earlier create may have succeeded: look for that remote job before creating."""


@dataclass(frozen=True)
class Create:
    """Nothing was found or nothing can have been made: create the remote job now."""


@dataclass(frozen=True)
class Fetch:
    """The remote job succeeded: read its outputs, store them, upload if asked."""


Action = CancelRemote | Expire | Search | Create | Fetch
