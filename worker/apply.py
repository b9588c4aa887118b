"""The one place where what a step decided is written to the store.

Every outcome of :mod:`worker.decide` (:mod:`worker.outcomes`) maps to one atomic store
operation here: failing a job (and remembering a refused credential), rescheduling a step,
admitting a job under the in-flight limit, tracking a remote job, handing an ended remote
job to finalize, succeeding, cancelling. Steps never write job state themselves.
:func:`apply_many` writes many jobs' outcomes in one round trip (a finalize chunk's ends, a
sweep page's hand-offs), each still its own atomic transition.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from worker import decide
from worker.errors import JobfleetError
from worker.outcomes import (
    Admit,
    Cancel,
    Changes,
    CreateStarted,
    Fail,
    Outcome,
    RemoteEnded,
    Reschedule,
    Skip,
    Succeed,
    Track,
)
from worker.record import ACTIVE, Job
from worker.runtime import Runtime
from worker.store import Move
from worker.telemetry import recorder, remote_end_time

log = logging.getLogger("jobfleet.apply")


@dataclass(frozen=True)
class Applied:
    """What the store did: ``done`` when the write happened; ``old`` is the state before.

    ``held`` means an admission was refused by the in-flight limit (nothing was written).
    """

    done: bool
    old: str | None
    held: bool = False


def apply(rt: Runtime, job: Job, outcome: Outcome) -> Applied:
    """Writes ``outcome`` for ``job``; a write refused because the job moved on is a no-op."""
    try:
        write = _WRITERS[type(outcome)]
    except KeyError:
        raise TypeError(f"not an outcome: {outcome!r}") from None
    return write(rt, job, outcome)


def failed_step(rt: Runtime, job: Job, step: str, exc: Exception,
                changes: Changes | None = None) -> Applied:
    """Records a step that raised: logs a surprise with its traceback, then applies the
    decision (fail now, or try again later within the error budget)."""
    if not isinstance(exc, JobfleetError):
        log.error("job %s: unexpected error in %s", job.id, step, exc_info=exc)
    outcome = decide.step_error(job, step, exc, rt.policy, rt.store.clock(), changes=changes)
    return apply(rt, job, outcome)


def apply_many(rt: Runtime, pairs: Sequence[tuple[Job, Outcome]]) -> list[Applied]:
    """:func:`apply` for many jobs: ends (succeed, fail, cancel) and hand-offs to finalize are
    written in one round trip, each still its own atomic transition; any other outcome alone."""
    applied: list[Applied | None] = [None] * len(pairs)
    moves, where = [], []
    for i, (job, outcome) in enumerate(pairs):
        move = _MOVES.get(type(outcome))
        if move is None:
            applied[i] = apply(rt, job, outcome)
        else:
            moves.append(move(rt, job, outcome))
            where.append(i)
    for i, (done, old) in zip(where, rt.store.transition_many(moves) if moves else ()):
        job, outcome = pairs[i]
        applied[i] = Applied(done, job.state if isinstance(outcome, RemoteEnded) else old)
        if done and isinstance(outcome, Fail):
            log.info("job %s failed (%s): %s", job.id, outcome.reason, outcome.message)
    return applied  # type: ignore[return-value] - every slot is filled above


def _one(rt: Runtime, job: Job, outcome: Outcome) -> Applied:
    return apply_many(rt, [(job, outcome)])[0]


def _fail_move(rt: Runtime, job: Job, outcome: Fail) -> Move:
    if outcome.auth is not None:
        rt.remember_auth_failure(job.provider, outcome.auth)
    return (job.id, ACTIVE, "failed", None, {"reason": outcome.reason, "error": outcome.message,
                                              "create_started": None, **outcome.changes})


def _track(rt: Runtime, job: Job, outcome: Track) -> Applied:
    """A remote job is tracked by at most one of ours, even one found by payload."""
    remote_id = outcome.submission.remote_id
    if not rt.store.own_remote(job.provider, remote_id, job.id):
        return _one(rt, job, Fail("duplicate", f"{job.provider}: remote job {remote_id} is "
                                   "already tracked by another job; not tracked twice"))
    return Applied(*rt.store.transition(job.id, ["submitting"], "running",
                                        schedule=(outcome.step, outcome.at),
                                        **outcome.changes))


def _reschedule(rt: Runtime, job: Job, outcome: Reschedule) -> Applied:
    done = rt.store.reschedule(job, outcome.step, outcome.at, **outcome.changes)
    if outcome.note:
        log.info("job %s: %s", job.id, outcome.note)
    return Applied(done, job.state)


def _cancel_move(rt: Runtime, job: Job, outcome: Cancel) -> Move:
    return (job.id, outcome.from_states, "cancelled", None, {})


def _admit(rt: Runtime, job: Job, outcome: Admit) -> Applied:
    result = rt.in_flight.admit(job.id, job.provider, outcome.changes)
    held = result == "at_limit"
    return Applied(result == "ok", job.state if held or result == "ok" else result, held=held)


def _create_started(rt: Runtime, job: Job, outcome: CreateStarted) -> Applied:
    done = rt.store.reschedule(job, "submit", outcome.retry_at, create_started=outcome.at)
    return Applied(done, job.state)


def _remote_ended_move(rt: Runtime, job: Job, outcome: RemoteEnded) -> Move:
    """Marks the remote job done and schedules finalize: the hand-off from poll (or a sweep).

    Where the platform says when the job ended, the detection delay is measured too."""
    status = outcome.status
    ended = remote_end_time(status.record)
    if ended is not None:
        recorder.observe("jobfleet_detection_delay_seconds", max(outcome.seen_at - ended, 0.0),
                         platform=job.provider)
    return (job.id, [job.state], job.state, ("finalize", outcome.at),
            {"remote_done": status.state.value, "remote_state": status.raw,
             "remote_detail": status.detail, "errors": 0, "seen_ended_at": outcome.seen_at,
             "remote_ended_at": ended, "remote_record": status.record or None})


def _succeed_move(rt: Runtime, job: Job, outcome: Succeed) -> Move:
    return (job.id, ["running"], "succeeded", None, outcome.changes)


def _skip(rt: Runtime, job: Job, outcome: Skip) -> Applied:
    return Applied(False, job.state)


# Outcomes that are one plain transition each, so many can share a round trip.
_MOVES: dict[type, Callable[[Runtime, Job, Any], Move]] = {
    Fail: _fail_move, Cancel: _cancel_move, RemoteEnded: _remote_ended_move,
    Succeed: _succeed_move,
}
_WRITERS: dict[type, Callable[[Runtime, Job, Any], Applied]] = {
    Reschedule: _reschedule, Admit: _admit, CreateStarted: _create_started, Track: _track,
    Skip: _skip, **dict.fromkeys(_MOVES, _one),
}
