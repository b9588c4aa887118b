"""Cancelling one job: remotely where the platform can, then in our record.

Used by the cancel task (a user asked), by polls (a flagged job or batch is seen) and by
submit (a request that arrived while the remote job was being created).
"""

from __future__ import annotations

import logging

from worker import decide
from worker.apply import apply
from worker.errors import JobfleetError
from worker.outcomes import Cancel, CancelRemote, Skip
from worker.record import Job
from worker.runtime import Runtime

log = logging.getLogger("jobfleet.cancel")


def cancel_job(rt: Runtime, job_id: str) -> str:
    """Cancels one job; returns what happened, for the caller to report."""
    job = rt.store.get(job_id)
    decision = decide.cancel(job)
    if isinstance(decision, Skip):
        return decision.why
    if isinstance(decision, CancelRemote):
        decision = decide.remote_cancel(_cancel_remote(rt, job))
        if isinstance(decision, Skip):
            return decision.why
    done = apply(rt, job, decision)
    if done.done:
        return "cancelled"
    return f"now {done.old}" if _was(decision, "queued") else f"already {done.old}"


def _cancel_remote(rt: Runtime, job: Job) -> Exception | None:
    """Asks the platform to stop ``job``'s remote job; the error when that failed."""
    try:
        provider = rt.provider(job.provider)
        if provider.supports_cancel:
            provider.cancel(job.remote_id, job.kind)
    except JobfleetError as exc:
        log.warning("job %s: remote cancel failed, will retry at next poll: %s", job.id, exc)
        return exc
    return None


def _was(decision: Cancel, state: str) -> bool:
    return decision.from_states == (state,)
