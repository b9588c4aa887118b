"""The poll step: one status check per running job (submit is :mod:`worker.submit`,
finalize :mod:`worker.finalize`, cancel :mod:`worker.cancel`).

A step reads the jobs, makes the platform calls, asks :mod:`worker.decide` what that means
and hands the outcome to :mod:`worker.apply`. Every step is safe to run twice for the same
job (a redelivered message, a resumed lease): state changes are atomic transitions that
refuse to leave a terminal state.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable

from worker import decide
from worker.apply import apply, failed_step
from worker.cancel import cancel_job
from worker.errors import ConfigError, JobfleetError
from worker.outcomes import CancelRemote, Expire, RemoteEnded
from worker.providers.base import Provider
from worker.providers.types import RemoteStatus
from worker.record import Job
from worker.runtime import Runtime

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
