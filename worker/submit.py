"""Submitting a job: create its remote job at most once, and schedule its first poll.

The create is the one step that must never happen twice. The record notes that a create is
under way before the request; an attempt that finds that note (a worker died, an answer was
lost) first searches the platform for the remote job and adopts it, and when the platform
cannot settle the question the job fails rather than risk a second remote job.
"""

from __future__ import annotations

import logging

from worker.errors import BadResponse, OverBudget, Throttled, TransientError
from worker.providers.base import JobSpec, Provider, Submission
from worker.record import Job
from worker.runtime import Runtime
from worker.steps import cancel_job, cancel_requested, fail, step_failed

log = logging.getLogger("jobfleet.submit")

AT_LIMIT_RETRY_S = 2.0  # a job held back by the in-flight limit asks again this much later


def submit_job(rt: Runtime, job_id: str) -> None:
    """Creates the remote job, at most once, and schedules its first poll."""
    claim = rt.store.claim(job_id, "submit", ("queued", "submitting"), rt.settings.lease_s)
    if claim not in ("fresh", "resume"):
        return
    job = rt.store.get(job_id)
    if job is None:
        return
    if job.state == "queued":
        if cancel_requested(rt, job):
            rt.store.transition(job.id, ["queued"], "cancelled")
            return
        started = rt.store.start_submitting(
            job.id, rt.max_in_flight(job.provider),
            submit_attempts=job.submit_attempts + 1,
        )
        if started == "at_limit":
            rt.store.reschedule(job, "submit", rt.store.clock() + AT_LIMIT_RETRY_S,
                                lease_until=None)
            return
        if started != "ok":
            return
        job = rt.store.get(job_id)
    try:
        provider = rt.provider(job.provider)
        submission = _find_or_create(rt, provider, job, resumed=claim == "resume")
    except OverBudget as exc:
        fail(rt, job, exc.reason, exc.describe(), remote_id=exc.remote_id)
        return
    except Exception as exc:  # noqa: BLE001 - every failure is recorded on the job
        step_failed(rt, job, "submit", exc)
        return
    if submission is not None:
        _record_submission(rt, provider, job, submission)


def _find_or_create(
    rt: Runtime, provider: Provider, job: Job, *, resumed: bool
) -> Submission | None:
    """Looks for a remote job an earlier attempt may have created before creating one.

    ``create_started`` stays set on the record when a create request's outcome is unknown
    (the worker died during it, or it timed out). Then, if the platform can be searched by
    our tag, we search; if it cannot, we fail the job rather than risk a second remote job.
    """
    spec = _spec(job)
    if resumed or job.create_started:
        if provider.supports_find:
            found = provider.find(spec, taken=lambda rid: rt.store.remote_owner(
                provider.name, rid) not in (None, job.id))
            if found is not None:
                log.info("job %s: adopting remote job %s from an earlier attempt",
                         job.id, found.remote_id)
                return found
        elif job.create_started:
            fail(rt, job, "submit_unknown",
                  f"{provider.name}: an earlier create request may have succeeded and the platform "
                  "cannot be searched for it; not retried, to never run the job twice")
            return None
    if cancel_requested(rt, job):
        rt.store.transition(job.id, ["submitting"], "cancelled")
        return None
    rt.store.reschedule(job, "submit", rt.store.clock() + rt.settings.lease_s,
                        create_started=rt.store.clock())
    try:
        return provider.submit(spec)
    except TransientError as exc:
        if not _may_have_created(exc):  # refused outright: the next attempt need not search
            rt.store.transition(job.id, ["submitting"], "submitting", create_started=None)
        raise


def _may_have_created(exc: TransientError) -> bool:
    """A create refused with an error status created nothing; one that got no answer, or a
    2xx we could not read, may have created the remote job."""
    return isinstance(exc, BadResponse) or (exc.status is None and not isinstance(exc, Throttled))


def _record_submission(rt: Runtime, provider: Provider, job: Job, sub: Submission) -> None:
    if not rt.store.own_remote(provider.name, sub.remote_id, job.id):
        fail(rt, job, "duplicate", f"{provider.name}: remote job {sub.remote_id} is already "
              "tracked by another job; not tracked twice")
        return
    now = rt.store.clock()
    deadline_s = (job.deadline_s or 0.0)
    fields = {
        "remote_id": sub.remote_id,
        "remote_state": sub.status.raw,
        "create_started": None,
        "lease_until": None,
        "errors": 0,
        "polls": 0,
        "deadline_at": now + deadline_s if deadline_s else None,
    }
    if sub.status.state.terminal:
        schedule = ("finalize", now)
        fields.update(remote_done=sub.status.state.value, remote_detail=sub.status.detail)
    else:
        schedule = ("poll", now + rt.poll_policy.delay(0, hint=sub.status.poll_hint))
    done, _ = rt.store.transition(job.id, ["submitting"], "running", schedule=schedule, **fields)
    if done and cancel_requested(rt, job):
        cancel_job(rt, job.id)


def _spec(job: Job) -> JobSpec:
    return JobSpec(
        job_id=job.id,
        kind=job.kind,
        params=job.params,
        max_price=job.max_price,
        create_started=job.create_started,
    )
