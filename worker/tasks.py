"""The fleet's Celery tasks: thin wrappers over the steps (:mod:`worker.submit`,
:mod:`worker.steps`, :mod:`worker.finalize`, :mod:`worker.cancel`).

Each message carries a list of job ids and nothing else (JSON, no credentials), so Flower
shows which jobs a task touched and never a secret. A task that cannot reach Redis is
retried by Celery a bounded number of times with short countdowns, far below the
visibility timeout; every other failure is recorded on the job by the step itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import redis
from celery import Task

from config.celery import TASKS
from worker import broker, steps
from worker import finalize as finalizing
from worker import submit as submitting
from worker.app import app, send_step
from worker.cancel import cancel_job
from worker.pickup import lane_name
from worker.runtime import runtime
from worker.telemetry import recorder

STEP_SECONDS = "jobfleet_step_duration_seconds"

_RETRY = {
    "autoretry_for": (redis.ConnectionError, redis.TimeoutError),
    "retry_backoff": 2,
    "retry_backoff_max": 30,
    "retry_jitter": True,
    "max_retries": 6,
}


def _send_finalize(job_ids: list[str]) -> None:
    send_step("finalize", job_ids)


def _lane(task: Task, step: str) -> str:
    """The lane (:mod:`worker.pickup`) of the message ``task`` runs: the priority it was
    delivered with says whether it carried jobs not yet started (:mod:`worker.broker`)."""
    info = task.request.delivery_info or {}
    return lane_name(step, info.get("priority") == broker.UNSTARTED_PRIORITY)


def _each_timed(step: str, job_ids: Sequence[str], run: Callable[[str], object],
                sent_at: float | None, until: float | None, lane: str) -> None:
    """Runs ``run`` for each job, observing each one's wall time for ``/metrics``.

    Each job is kept leased from the start of its own step (see :mod:`worker.heartbeat`);
    the jobs still waiting behind it in this message are not started, so a slow step does
    not hold them: past the pickup window another worker takes them, and this message
    skips them when it gets there (their lease or state has moved on). Each job's start
    also measures how long it waited since ``sent_at``, as a wait of its message's ``lane``
    (see :mod:`worker.pickup`).

    At the message's start its jobs, now in this worker's hands rather than queued, are
    held for one lease instead of the rest of the pickup window (``until``), so a worker
    killed while running the message strands them for a lease at most, however wide the
    window grew; the hold is not renewed (see :meth:`Heartbeat.taken`).
    """
    runtime.heartbeat.taken(step, job_ids, until)
    for job_id in job_ids:
        started = time.monotonic()
        try:
            with runtime.heartbeat.running(step, [job_id], sent_at, lane):
                run(job_id)
        finally:
            recorder.observe(STEP_SECONDS, time.monotonic() - started, step=step)


@app.task(name=TASKS["submit"], **_RETRY)
def submit(job_ids: list[str], sent_at: float | None = None,
           until: float | None = None) -> None:
    """Creates each job's remote job and schedules its polls."""
    _each_timed("submit", job_ids, lambda job_id: submitting.submit_job(runtime, job_id),
                sent_at, until, _lane(submit, "submit"))


def _together_timed(step: str, job_ids: list[str], run: Callable[[list[str]], object],
                    sent_at: float | None) -> None:
    """Runs ``run`` once for all the message's jobs, kept leased together; each job is
    observed with its share of the wall time. The start measures how long the message
    waited since ``sent_at`` (see :mod:`worker.pickup`)."""
    started = time.monotonic()
    with runtime.heartbeat.running(step, job_ids, sent_at):
        run(job_ids)
    share = (time.monotonic() - started) / max(len(job_ids), 1)
    for _ in job_ids:
        recorder.observe(STEP_SECONDS, share, step=step)


@app.task(name=TASKS["poll"], **_RETRY)
def poll(job_ids: list[str], sent_at: float | None = None, until: float | None = None) -> None:
    """Checks each job's remote status once; finished jobs go on to finalize."""
    _together_timed("poll", job_ids,
                    lambda ids: steps.poll_jobs(runtime, ids, _send_finalize), sent_at)


@app.task(name=TASKS["finalize"], **_RETRY)
def finalize(job_ids: list[str], sent_at: float | None = None,
             until: float | None = None) -> None:
    """Stores each finished job's result and ends the job, the message's jobs together."""
    _together_timed("finalize", job_ids, lambda ids: finalizing.finalize_jobs(runtime, ids),
                    sent_at)


@app.task(name=TASKS["cancel"], **_RETRY)
def cancel(job_ids: list[str] | None = None, batch: str | None = None) -> dict[str, int]:
    """Cancels jobs; given a batch, fans out one message per page of its jobs."""
    if batch is not None:
        pages = 0
        for ids in runtime.store.batch_job_ids(batch, page=runtime.settings.chunk_size):
            app.send_task(TASKS["cancel"], kwargs={"job_ids": ids})
            pages += 1
        return {"pages": pages}
    outcomes: dict[str, int] = {}
    for job_id in job_ids or []:
        what = cancel_job(runtime, job_id)
        outcomes[what] = outcomes.get(what, 0) + 1
    return outcomes
