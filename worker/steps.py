"""What happens to a job at each step after submission: poll, finalize, cancel (submit is
in :mod:`worker.submit`), and how a failed step is recorded.

Plain functions over a :class:`~worker.runtime.Runtime`, so the Celery tasks stay thin.
Every function is safe to run twice for the same job (a redelivered message, a resumed
lease): state changes are atomic transitions that refuse to leave a terminal state, and
the steps that must not run twice at once (submit, finalize) first take the job's lease.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable

from worker.errors import (
    AuthError,
    ConfigError,
    JobfleetError,
    PermanentError,
    Throttled,
    TransientError,
)
from worker.providers.base import (
    Outputs,
    Provider,
    RemoteState,
    RemoteStatus,
)
from worker.record import ACTIVE, Job
from worker.results.store import store_outputs
from worker.results.upload import choose_payload, upload_once
from worker.runtime import Runtime
from worker.telemetry import recorder, remote_end_time

log = logging.getLogger("jobfleet.steps")

SendFinalize = Callable[[list[str]], None]


def poll_jobs(rt: Runtime, job_ids: Iterable[str], send_finalize: SendFinalize) -> None:
    """One status check for each running job; reschedules the unfinished with backoff."""
    groups: dict[str, list[Job]] = defaultdict(list)
    for job in rt.store.get_many(job_ids):
        if job.state == "running" and not job.remote_done:
            groups[job.provider].append(job)
    for name, jobs in groups.items():
        try:
            provider = rt.provider(name)
        except ConfigError as exc:
            for job in jobs:
                step_failed(rt, job, "poll", exc)
            continue
        statuses = provider.bulk_status([(j.remote_id, j.kind) for j in jobs])
        stopped = {b for b in {j.batch for j in jobs} if rt.store.batch_cancelled(b)}
        finished = [
            job.id for job in jobs
            if _after_status(rt, provider, job, statuses.get(job.remote_id), stopped)
        ]
        if finished:
            send_finalize(finished)


def _after_status(
    rt: Runtime,
    provider: Provider,
    job: Job,
    status: RemoteStatus | Exception | None,
    stopped_batches: set[str],
) -> bool:
    """Acts on one status; True when the remote job has ended and needs finalizing."""
    if job.cancel_requested or job.batch in stopped_batches:
        cancel_job(rt, job.id)
        return False
    if status is None:
        status = TransientError("no status returned for this job", provider=provider.name)
    if isinstance(status, Exception):
        step_failed(rt, job, "poll", status)
        return False
    now = rt.store.clock()
    if status.state.terminal:
        ended = remote_end_time(status.record)
        if ended is not None:
            recorder.observe("jobfleet_detection_delay_seconds", max(now - ended, 0.0),
                             platform=job.provider)
        return rt.store.reschedule(job, "finalize", now + rt.settings.lease_s,
                                   remote_done=status.state.value, remote_state=status.raw,
                                   remote_detail=status.detail, errors=0,
                                   seen_ended_at=now, remote_ended_at=ended)
    deadline_at = job.deadline_at
    if deadline_at is not None and now >= deadline_at:
        _expire(rt, provider, job)
        return False
    polls = job.polls
    delay = rt.poll_policy.delay(polls, hint=status.poll_hint,
                                 remaining=None if deadline_at is None else deadline_at - now)
    rt.store.reschedule(job, "poll", now + delay, polls=polls + 1, errors=0,
                        remote_state=status.raw, next_poll=now + delay)
    return False


def _expire(rt: Runtime, provider: Provider, job: Job) -> None:
    """The job ran past its deadline: cancel it remotely (best effort) and fail it."""
    note = "remote job cancelled"
    try:
        provider.cancel(job.remote_id, job.kind)
    except NotImplementedError:
        note = f"{provider.name} has no cancel endpoint; tracking stopped"
    except JobfleetError as exc:
        note = f"remote cancel failed: {exc}"
    deadline_s = (job.deadline_s or 0.0)
    fail(rt, job, "deadline", f"deadline of {deadline_s:g}s passed; {note}")


def finalize_job(rt: Runtime, job_id: str) -> None:
    """Fetches a finished job's outputs into the result store and ends the job."""
    claim, token = rt.store.claim_lease(job_id, "finalize", ("running",), rt.settings.lease_s,
                                        require="remote_done")
    if claim not in ("fresh", "resume"):
        return
    job = rt.store.get(job_id)
    if job is None:
        return
    done = RemoteState(job.remote_done)
    if done is RemoteState.CANCELLED:
        rt.store.transition(job.id, ["running"], "cancelled")
        return
    if done is RemoteState.FAILED:
        detail = job.remote_detail or job.remote_state or "no reason given"
        fail(rt, job, "remote_failed", f"{job.provider}: remote job failed: {detail}")
        return
    try:
        provider = rt.provider(job.provider)
        status = RemoteStatus(state=done, raw=job.remote_state or "")
        outputs = provider.read_outputs(job.remote_id, job.kind, status)
        fields = {"result": store_outputs(rt.results, job.batch, job.key, job.id,
                                          outputs.data, outputs.files)}
        if job.upload:
            # Fencing: the upload must not also run in a worker that took the step over.
            if rt.store.renew_lease(job.id, "finalize", token, rt.settings.lease_s) is None:
                log.info("job %s: finalize taken over by another worker; leaving it", job.id)
                return
            fields.update(_upload(rt, job, outputs))
    except Exception as exc:  # noqa: BLE001 - every failure is recorded on the job
        step_failed(rt, job, "finalize", exc)
        return
    rt.store.transition(job.id, ["running"], "succeeded", **fields)


def _upload(rt: Runtime, job: Job, outputs: Outputs) -> dict[str, str]:
    """Uploads the job's result to the platform its ``upload`` spec names."""
    spec = job.upload
    name, data = choose_payload(outputs, spec)
    done = upload_once(rt.provider(spec["to"]), name, data)
    recorder.count("jobfleet_uploads_total", platform=spec["to"],
                   outcome="held" if done.reused else "new")
    log.info("job %s: result %s as %s file %s", job.id,
             "already held" if done.reused else "uploaded", spec["to"], done.file_id)
    return {"file_id": done.file_id, "file_sha256": done.sha256, "file_to": spec["to"]}


def cancel_job(rt: Runtime, job_id: str) -> str:
    """Cancels one job: remotely where the platform can, then in our record.

    Returns what happened, for the caller to report. A job in ``submitting`` is left to its
    submit step, which checks the cancel request before and after creating the remote job.
    """
    job = rt.store.get(job_id)
    if job is None:
        return "missing"
    if job.terminal:
        return f"already {job.state}"
    if job.state == "queued":
        done, old = rt.store.transition(job.id, ["queued"], "cancelled")
        return "cancelled" if done else f"now {old}"
    if job.state == "submitting":
        return "cancel requested"
    try:
        provider = rt.provider(job.provider)
        if provider.supports_cancel:
            provider.cancel(job.remote_id, job.kind)
    except JobfleetError as exc:
        log.warning("job %s: remote cancel failed, will retry at next poll: %s", job.id, exc)
        return "cancel requested"
    done, old = rt.store.transition(job.id, ["running"], "cancelled")
    return "cancelled" if done else f"already {old}"


def step_failed(rt: Runtime, job: Job, step: str, exc: Exception) -> None:
    """Records a failed step: fails the job on a permanent error or after too many tries,
    otherwise schedules the step again with backoff."""
    if isinstance(exc, PermanentError | ConfigError):
        if isinstance(exc, AuthError):
            rt.remember_auth_failure(job.provider, exc)
        reason = exc.reason if isinstance(exc, PermanentError) else "config"
        fail(rt, job, reason, str(exc))
        return
    if isinstance(exc, Throttled):  # our own limiter: nothing was sent, no error is counted
        rt.store.reschedule(job, step, rt.store.clock() + (exc.retry_after or 1.0),
                            lease_until=None)
        return
    if not isinstance(exc, TransientError):
        log.exception("job %s: unexpected error in %s", job.id, step, exc_info=exc)
    errors = job.errors + 1
    text = exc.describe() if isinstance(exc, TransientError) else f"internal error: {exc!r}"
    if errors >= rt.settings.max_step_errors:
        reason = exc.reason if isinstance(exc, TransientError) else "internal"
        fail(rt, job, reason, f"gave up after {errors} attempts to {step}: {text}")
        return
    hint = exc.retry_after if isinstance(exc, TransientError) else None
    at = rt.store.clock() + rt.poll_policy.delay(errors - 1, hint=hint)
    rt.store.reschedule(job, step, at, errors=errors, last_error=text, lease_until=None)
    log.info("job %s: %s failed (%d/%d), again in %.1fs: %s", job.id, step, errors,
             rt.settings.max_step_errors, at - rt.store.clock(), text)


def fail(rt: Runtime, job: Job, reason: str, message: str, **fields) -> None:
    rt.store.transition(job.id, ACTIVE, "failed", reason=reason, error=message,
                        create_started=None, **fields)
    log.info("job %s failed (%s): %s", job.id, reason, message)


def cancel_requested(rt: Runtime, job: Job) -> bool:
    return job.cancel_requested or rt.store.batch_cancelled(job.batch)
