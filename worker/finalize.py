"""The finalize step: a finished job's outputs into the result store, and the job ended.

A message carries a chunk of job ids and finalize takes them together: one round trip claims
every job's lease and reads its record, the outputs of the chunk's jobs are fetched a few at
a time over the provider's pooled HTTP client (each job's files held for retention, one
round trip, before they are written), and the jobs' ends are written in one round trip
(:func:`worker.apply.apply_many`). What holds for a job finalized alone holds for each
job of a chunk:

* a finalize never runs twice at once: a job whose lease another worker holds, or that has
  ended meanwhile, is left out at the claim;
* the lease is the fence: the heartbeat renews it while the outputs are fetched, an upload
  holds it before each part, and a job taken over meanwhile is left to its new holder;
* every failure is recorded on its own job (tried again within the error budget, or failed)
  and never stops the chunk's other jobs;
* safe to run twice: the ends are transitions out of ``running`` that refuse a terminal job;
* a job's files are held for retention before they are written, so an end refused later
  (the job cancelled meanwhile, or taken over) leaves no file that no record names.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

from worker import decide
from worker.apply import apply_many, failed_step
from worker.errors import LeaseLost
from worker.outcomes import Fetch, Outcome, Succeed
from worker.providers.base import Provider
from worker.providers.types import Outputs, RemoteState, RemoteStatus
from worker.record import Job
from worker.results.store import plan_outputs
from worker.results.upload import LeaseFence, choose_payload, upload_once
from worker.retention import hold_planned
from worker.runtime import HTTP_POOL_SIZE, Runtime
from worker.telemetry import recorder

log = logging.getLogger("jobfleet.finalize")

FETCH_THREADS = HTTP_POOL_SIZE  # fetches in flight per process: one pooled connection each

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def finalize_jobs(rt: Runtime, job_ids: Iterable[str]) -> None:
    """Fetches the outputs of the finished jobs among ``job_ids`` and ends each job."""
    ids = list(dict.fromkeys(job_ids))
    claimed = rt.store.claim_leases(ids, "finalize", ("running",), rt.policy.lease_s,
                                    require="remote_done")
    ends: list[tuple[Job, Outcome]] = []
    fetches: list[tuple[Job, LeaseFence]] = []
    for job, token in claimed:
        decision = decide.finalize(job)
        if isinstance(decision, Fetch):
            fetches.append((job, LeaseFence(rt.store, job.id, "finalize", token,
                                            rt.policy.lease_s)))
        else:
            ends.append((job, decision))
    if fetches:
        ends += _fetch_all(rt, fetches)
    if ends:
        apply_many(rt, ends)


def _fetch_all(rt: Runtime, fetches: list[tuple[Job, LeaseFence]]) -> list[tuple[Job, Outcome]]:
    """Each job's outputs, stored (and uploaded if asked) under its held lease; returns the
    successes to write. A failure is recorded on its job here; a job taken over is left."""
    providers = _providers(rt, {job.provider for job, _ in fetches})

    def fetch(item: tuple[Job, LeaseFence]) -> Outcome | Exception:
        job, fence = item
        try:
            provider = providers[job.provider]
            if isinstance(provider, Exception):
                raise provider
            return _fetch(rt, provider, job, fence)
        except Exception as exc:  # noqa: BLE001 - handed back and recorded on this job
            return exc

    with ExitStack() as held:
        for _, fence in fetches:  # a long download or upload is never taken over
            held.enter_context(rt.heartbeat.holding(fence))
        results = _map(fetch, fetches)
    done: list[tuple[Job, Outcome]] = []
    for (job, fence), result in zip(fetches, results):
        if isinstance(result, Exception):
            _failed(rt, job, fence, result)
        else:
            done.append((job, result))
    return done


def _providers(rt: Runtime, names: Iterable[str]) -> dict[str, Provider | Exception]:
    """Each platform once per chunk (and its remembered refusal, one look)."""
    found: dict[str, Provider | Exception] = {}
    for name in names:
        try:
            found[name] = rt.provider(name)
        except Exception as exc:  # noqa: BLE001 - recorded on each of its jobs
            found[name] = exc
    return found


def _failed(rt: Runtime, job: Job, fence: LeaseFence, exc: Exception) -> None:
    """Records a job's failed fetch, unless another worker has the step now."""
    if isinstance(exc, LeaseLost):
        log.info("%s; leaving it", exc)
    elif job.upload and not fence.keep():  # not ours to record: it would clear the new
        log.info("job %s: finalize failed after it was taken over (%s); leaving it",
                 job.id, exc)  # holder's lease
    else:
        failed_step(rt, job, "finalize", exc)


def _map(fetch: Callable[[tuple[Job, LeaseFence]], Outcome | Exception],
         items: Sequence[tuple[Job, LeaseFence]]) -> list[Outcome | Exception]:
    """``fetch`` over ``items``, several at once on the process's fetch threads."""
    if len(items) == 1:
        return [fetch(items[0])]
    return list(_fetch_pool().map(fetch, items))


def _fetch_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(FETCH_THREADS, thread_name_prefix="jobfleet-fetch")
        return _pool


def _fetch(rt: Runtime, provider: Provider, job: Job, fence: LeaseFence) -> Outcome:
    """Stores the outputs and uploads them if asked; ``LeaseLost`` when another worker took
    the step over before the upload's commit."""
    # The row the platform listed (a sweep) or answered (a poll) when the job was seen ended:
    # where it holds the outputs, reading them needs no second request.
    status = RemoteStatus(state=RemoteState(job.remote_done), raw=job.remote_state or "",
                          record=job.remote_record or {})
    outputs = provider.read_outputs(job.remote_id, job.kind, status)
    planned = plan_outputs(rt.results, job.batch, job.key, job.id, outputs.data, outputs.files)
    # Held before written: if the end is refused later (cancelled meanwhile, or taken over),
    # retention still removes them with the job. A job no longer running gets nothing.
    if planned.locations and not hold_planned(rt.store, job.id, planned.locations):
        raise LeaseLost(f"job {job.id}: no longer running, its result is not stored")
    changes = {"result": planned.write(), "remote_record": None}
    if job.upload:
        changes.update(_upload(rt, job, outputs, fence))  # fenced before each part
    return Succeed(changes)


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
