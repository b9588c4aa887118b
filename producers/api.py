"""The Python API for backends: enqueue jobs, follow batches, cancel, read results.

It writes job records to Redis, each due at once in its platform's index of jobs not yet
started, where the workers' dispatchers find it and send the submit messages (as they do for
every later step, which goes first);
cancels are sent as Celery tasks **by name**. It imports no task or provider code, so a web
backend can use it with nothing but a Redis URL::

    from producers import Fleet

    fleet = Fleet()                          # JOBFLEET_REDIS_URL
    batch = fleet.enqueue_batch(jobs)        # idempotent: same jobs → same batch, no duplicates
    fleet.status(batch)["done"]

Enqueueing is idempotent: a job is identified by its batch and client ``key``, so sending
the same jobs again creates nothing new (and re-sends nothing for jobs that exist).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from celery import Celery

from config.celery import QUEUES, TASKS, celery_config
from config.settings import FleetSettings, fleet_settings
from producers.jobfile import InvalidJob, validate
from worker.broker import UNSTARTED_PRIORITY
from worker.record import STATES, Job, make_job_id
from worker.store import JobStore, connect_redis

DEFAULT_BATCH = "default"  # where single jobs go when no batch is named
BATCH_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
CREATE_CHUNK = 5_000  # job records per pipeline: bounded memory, a few script calls each
LINE_FIELDS = ("id", "key", "provider", "kind", "state", "remote_id")  # every results line


class UnknownBatch(LookupError):
    """No batch of that id exists."""


class BatchInFlight(RuntimeError):
    """The batch still has jobs that have not ended."""

    def __init__(self, batch: str, live: int) -> None:
        super().__init__(f"batch {batch!r} has {live} job(s) not yet ended")
        self.batch, self.live = batch, live


def batch_id_for(content: bytes) -> str:
    """A batch id derived from content: submitting the same file twice names the same batch."""
    return "b-" + hashlib.sha256(content).hexdigest()[:16]


class Fleet:
    """A handle on the fleet for producers. Thread-safe; make one and reuse it."""

    def __init__(self, settings: FleetSettings | None = None) -> None:
        self.settings = settings or fleet_settings()
        self.store = JobStore(connect_redis(self.settings.redis_url),
                              retention_s=self.settings.retention_s)
        self.celery = Celery("jobfleet-producer")
        self.celery.conf.update(celery_config(self.settings))

    def enqueue(self, job: Mapping[str, Any], batch: str = DEFAULT_BATCH) -> str:
        """Enqueues one job; returns its id (the same id every time for the same key)."""
        self.enqueue_batch([job], batch=batch)
        return make_job_id(batch, job["key"])

    def enqueue_batch(self, jobs: Iterable[Mapping[str, Any]], batch: str | None = None) -> str:
        """Validates and enqueues jobs as one batch; returns the batch id.

        Raises ``InvalidJob`` listing every problem, before anything is enqueued, if any job
        is invalid or a key repeats. Without ``batch``, the id is derived from the jobs.
        """
        checked, problems, seen = [], [], set()
        for index, job in enumerate(jobs):
            try:
                valid = validate(job)
            except ValueError as exc:
                problems.append(f"job {index}: {exc}")
                continue
            if valid["key"] in seen:
                problems.append(f"job {index}: duplicate key {valid['key']!r}")
            seen.add(valid["key"])
            checked.append(valid)
        if problems:
            raise InvalidJob(problems)
        if batch is None:
            canonical = json.dumps(checked, sort_keys=True, separators=(",", ":")).encode()
            batch = batch_id_for(canonical)
        self.add_valid(batch, checked)
        return batch

    def add_valid(self, batch: str, jobs: list[dict[str, Any]]) -> list[str]:
        """Writes already-validated jobs; returns the ids of those that are new.

        New jobs are due at once, waiting for their first submit: no message is sent from here, so a
        100,000-job file costs a few hundred Redis calls, and submission follows the
        dispatchers' pace, in-flight limits and queue bounds like every other step.
        """
        if not BATCH_NAME.match(batch):
            raise ValueError(f"invalid batch name {batch!r}: letters, digits, '.', '_', '-'; "
                             "at most 64 characters")
        created: list[str] = []
        # Redis runs one chunk's scripts while this thread builds the next chunk's records.
        with ThreadPoolExecutor(1, thread_name_prefix="jobfleet-enqueue") as writer:
            pending: Future[list[str]] | None = None
            for start in range(0, len(jobs), CREATE_CHUNK):
                records = [_record(batch, job) for job in jobs[start : start + CREATE_CHUNK]]
                if pending is not None:
                    created += pending.result()
                pending = writer.submit(self.store.create_many, records, 0)
            if pending is not None:
                created += pending.result()
        return created

    def _send_submits(self, job_ids: list[str]) -> None:
        """Submit messages, a chunk of ids each (the due index is the safety net if lost), in
        the lane of jobs not yet started: they never overtake started work."""
        for start in range(0, len(job_ids), self.settings.chunk_size):
            chunk = job_ids[start : start + self.settings.chunk_size]
            self.celery.send_task(TASKS["submit"], args=[chunk], queue=QUEUES["submit"],
                                  priority=UNSTARTED_PRIORITY)

    def status(self, batch: str) -> dict[str, Any]:
        """``{"batch", "total", "states": {state: n}, "done"}``: one Redis read, any batch size."""
        counts = self.store.batch_counts(batch)
        if counts is None:
            raise UnknownBatch(batch)
        states = {s: counts[s] for s in STATES}
        active = states["queued"] + states["submitting"] + states["running"]
        return {"batch": batch, "total": counts["total"], "states": states, "done": active == 0}

    @staticmethod
    def job_id(batch: str, key: str) -> str:
        """The id of the job with client key ``key`` in ``batch`` (whether or not it exists)."""
        return make_job_id(batch, key)

    def job_states(self, batch: str) -> Iterator[dict[str, str]]:
        """``{"id", "key", "state"}`` for every job of the batch, in submission order."""
        for ids in self.store.batch_job_ids(batch):
            for job in self.store.get_many(ids):
                yield {"id": job.id, "key": job.key, "state": job.state}

    def job(self, job_id: str) -> dict[str, Any] | None:
        """One job's public record, or None."""
        found = self.store.get(job_id)
        return found.public() if found else None

    def results(self, batch: str) -> Iterator[dict[str, Any]]:
        """A line per job in submission order: id, key, provider, kind, state, remote_id, result
        or error (with its reason), and the uploaded file's id where one was asked for.

        ``result`` is ``{"data": ... | "data_location": ..., "files": {name: {"location",
        "sha256", "size"}}}``: small data inline, every output file's location in the result
        store under its own name (see :mod:`worker.results.store`)."""
        if self.store.batch_counts(batch) is None:
            raise UnknownBatch(batch)
        for ids in self.store.batch_job_ids(batch):
            for job in self.store.get_many(ids):
                record = job.public()
                line = {k: record[k] for k in LINE_FIELDS}
                for extra in ("attempt", "file_id", "error", "reason"):
                    if extra in record:
                        line[extra] = record[extra]
                if "result" in record:
                    line["result"] = json.loads(record["result"])
                yield line

    def cancel(self, batch: str | None = None, job_ids: Iterable[str] = ()) -> None:
        """Cancels a whole batch or some jobs; workers cancel remotely where platforms can."""
        ids = list(job_ids)
        if batch is not None:
            if not self.store.request_batch_cancel(batch):
                raise UnknownBatch(batch)
            self.celery.send_task(TASKS["cancel"], kwargs={"batch": batch}, queue=QUEUES["cancel"])
        if ids:
            self.store.request_job_cancel(ids)
            self.celery.send_task(TASKS["cancel"], kwargs={"job_ids": ids}, queue=QUEUES["cancel"])

    def batches(self) -> list[dict[str, Any]]:
        """Every batch still held, oldest first: name, created, counts by state, done."""
        from worker.lifecycle import list_batches

        return [{"batch": b.name, "created": b.created, "total": b.counts["total"],
                 "states": {s: b.counts[s] for s in STATES}, "done": b.done,
                 "finished_at": b.finished_at} for b in list_batches(self.store)]

    def retry(self, batch: str, reasons: Iterable[str] = ()) -> dict[str, str]:
        """Runs the batch's failed jobs (those with one of ``reasons``, if given) again, each
        as a new attempt of its key; job id → 'retried' or why not. A job whose remote job
        may still be running is never retried (that would be a second remote job)."""
        from worker.lifecycle import failed_jobs

        self.status(batch)
        outcome = self.store.retry_many(failed_jobs(self.store, batch, reasons),
                                        due_in=self.settings.lease_s)
        self._send_submits([job_id for job_id, what in outcome.items() if what == "retried"])
        return outcome

    def forget(self, batch: str) -> int:
        """Removes a finished batch now: its jobs, registry entries, batch keys and result
        files; returns how many jobs were removed. ``BatchInFlight`` while any job is live."""
        from worker.lifecycle import forget_batch
        from worker.results.store import ResultStore

        status = self.status(batch)
        if not status["done"]:
            raise BatchInFlight(batch, status["total"] - sum(
                status["states"][s] for s in ("succeeded", "failed", "cancelled")))
        ResultStore(self.settings.results_url).remove_batch(batch)
        return forget_batch(self.store, batch)

    def close(self) -> None:
        self.celery.close()
        self.store.redis.close()


def _record(batch: str, job: Mapping[str, Any]) -> Job:
    return Job.new(batch, job["key"], job["provider"], job["kind"], job["params"],
                   deadline_s=job.get("deadline_s"), max_price=job.get("max_price"),
                   upload=job.get("upload"))
