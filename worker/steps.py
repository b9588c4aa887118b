"""The steps after submission: poll and finalize (submit is :mod:`worker.submit`, cancel
:mod:`worker.cancel`).

Each step reads the job, makes the platform calls, asks :mod:`worker.decide` what that means
and hands the outcome to :mod:`worker.apply`. Every step is safe to run twice for the same
job (a redelivered message, a resumed lease): state changes are atomic transitions that
refuse to leave a terminal state, and finalize, which must not run twice at once, first
takes the job's lease.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable

from worker import decide
from worker.apply import apply, failed_step
from worker.cancel import cancel_job
from worker.errors import ConfigError, JobfleetError, LeaseLost
from worker.outcomes import CancelRemote, Expire, Fetch, Outcome, RemoteEnded, Succeed
from worker.providers.base import Outputs, Provider, RemoteState, RemoteStatus
from worker.record import Job
from worker.results.store import store_outputs
from worker.results.upload import LeaseFence, choose_payload, upload_once
from worker.runtime import Runtime
from worker.telemetry import recorder

log = logging.getLogger("jobfleet.steps")

SendFinalize = Callable[[list[str]], None]


def poll_jobs(rt: Runtime, job_ids: Iterable[str], send_finalize: SendFinalize) -> None:
    """One status check for each running job; reschedules the unfinished with backoff."""
    groups: dict[str, list[Job]] = defaultdict(list)
    for job in rt.store.get_many(job_ids):
        if decide.needs_poll(job):
            groups[job.provider].append(job)
    for name, jobs in groups.items():
        try:
            provider = rt.provider(name)
        except ConfigError as exc:
            for job in jobs:
                failed_step(rt, job, "poll", exc)
            continue
        statuses = provider.bulk_status([(j.remote_id, j.kind) for j in jobs])
        finished = poll_answers(rt, provider, jobs, statuses)
        if finished:
            send_finalize(finished)


def poll_answers(rt: Runtime, provider: Provider, jobs: list[Job],
                 statuses: dict[str, RemoteStatus | Exception]) -> list[str]:
    """Acts on the status answers for ``jobs`` (by remote id); returns the ids of the jobs
    whose remote job ended and that now wait for finalize."""
    stopping = rt.store.cancel_requested(jobs)
    finished = []
    for job in jobs:
        decision = decide.poll(job, statuses.get(job.remote_id),
                               cancel_requested=job.id in stopping,
                               policy=rt.policy, now=rt.store.clock())
        if isinstance(decision, CancelRemote):
            cancel_job(rt, job.id)
        elif isinstance(decision, Expire):
            apply(rt, job, decide.expired(job, _stop_remote(provider, job)))
        elif apply(rt, job, decision).done and isinstance(decision, RemoteEnded):
            finished.append(job.id)
    return finished


def _stop_remote(provider: Provider, job: Job) -> str:
    """Cancels an expired job's remote job, best effort; says what became of it."""
    try:
        provider.cancel(job.remote_id, job.kind)
    except NotImplementedError:
        return f"{provider.name} has no cancel endpoint; tracking stopped"
    except JobfleetError as exc:
        return f"remote cancel failed: {exc}"
    return "remote job cancelled"


def finalize_job(rt: Runtime, job_id: str) -> None:
    """Fetches a finished job's outputs into the result store and ends the job."""
    claim, token = rt.store.claim_lease(job_id, "finalize", ("running",), rt.policy.lease_s,
                                        require="remote_done")
    if claim not in ("fresh", "resume"):
        return
    job = rt.store.get(job_id)
    if job is None:
        return
    decision = decide.finalize(job)
    if not isinstance(decision, Fetch):
        apply(rt, job, decision)
        return
    fence = LeaseFence(rt.store, job.id, "finalize", token, rt.policy.lease_s)
    try:
        with rt.heartbeat.holding(fence):  # a long download or upload is never taken over
            outcome = _fetch(rt, job, fence)
    except LeaseLost as exc:
        log.info("%s; leaving it", exc)
        return
    except Exception as exc:  # noqa: BLE001 - every failure is recorded on the job
        if job.upload and not _still_held(fence):  # not ours to record: it would clear the
            log.info("job %s: finalize failed after it was taken over (%s); leaving it",
                     job.id, exc)  # new holder's lease
            return
        failed_step(rt, job, "finalize", exc)
        return
    apply(rt, job, outcome)


def _fetch(rt: Runtime, job: Job, fence: LeaseFence) -> Outcome:
    """Stores the outputs and uploads them if asked; ``LeaseLost`` when another worker took
    the step over before the upload's commit."""
    provider = rt.provider(job.provider)
    # The row the platform listed (a sweep) or answered (a poll) when the job was seen ended:
    # where it holds the outputs, reading them needs no second request.
    status = RemoteStatus(state=RemoteState(job.remote_done), raw=job.remote_state or "",
                          record=job.remote_record or {})
    outputs = provider.read_outputs(job.remote_id, job.kind, status)
    changes = {"result": store_outputs(rt.results, job.batch, job.key, job.id,
                                       outputs.data, outputs.files), "remote_record": None}
    if job.upload:
        changes.update(_upload(rt, job, outputs, fence))  # fenced before each part
    return Succeed(changes)


def _still_held(fence: LeaseFence) -> bool:
    """Whether this worker still holds the step (renewing it if so)."""
    try:
        fence()
    except LeaseLost:
        return False
    return True


def _upload(rt: Runtime, job: Job, outputs: Outputs, fence: LeaseFence) -> dict[str, str]:
    """Uploads the job's result to the platform its ``upload`` spec names, fenced."""
    spec = job.upload
    name, data = choose_payload(outputs, spec)
    done = upload_once(rt.provider(spec["to"]), name, data, job_id=job.id, fence=fence)
    recorder.count("jobfleet_uploads_total", platform=spec["to"],
                   outcome="held" if done.reused else "new")
    log.info("job %s: result %s as %s file %s", job.id,
             "already held" if done.reused else "uploaded", spec["to"], done.file_id)
    return {"file_id": done.file_id, "file_sha256": done.sha256, "file_to": spec["to"]}
