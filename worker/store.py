"""The job store: atomic operations on job records, batches and the due indexes in Redis.

We own these keys (laid out in :mod:`worker.keys`); Celery's result backend is not used.
Every transition is one Lua script (:mod:`worker.scripts`): check the current state, write
the new one with its timestamp, move the batch counters, and drop the job from the due
indexes when it ends. Claiming due work and the leases of steps in progress are
:class:`worker.due_index.DueIndex`, which :class:`JobStore` includes.
Records are encoded and decoded by :mod:`worker.record` only.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

import redis

from worker import keys, scripts
from worker.due_index import DueIndex
from worker.record import (
    STATES,
    Job,
    decode,
    decode_value,
    encode_changes,
    encode_json,
)

TransitionResult = tuple[bool, str | None]
Move = tuple[str, Sequence[str], str, "tuple[str, float] | None", dict[str, Any]]
CREATE_CHUNK = 1000  # jobs per create script call: Lua's unpack() takes a few thousand


def connect_redis(url: str) -> redis.Redis:
    """A client that rides out short Redis outages (restarts) instead of failing at once."""
    from redis.backoff import ExponentialBackoff
    from redis.retry import Retry

    return redis.Redis.from_url(
        url,
        decode_responses=True,
        socket_timeout=10,
        socket_connect_timeout=5,
        health_check_interval=25,
        retry=Retry(ExponentialBackoff(cap=2.0, base=0.1), retries=20),
        retry_on_error=[redis.ConnectionError, redis.TimeoutError],
    )


class JobStore(DueIndex):
    """Atomic operations on job records, batches and the due index."""

    def __init__(self, client: redis.Redis, clock=time.time,
                 retention_s: int = scripts.DEFAULT_RETENTION_S) -> None:
        self.redis = client
        self.clock = clock
        self.retention_s = retention_s
        self._scripts = {name: client.register_script(scripts.source(name, retention_s))
                         for name in scripts.NAMES}

    # -- creation ---------------------------------------------------------------------------

    def create_many(self, jobs: Sequence[Job], due_in: float) -> list[str]:
        """Creates the jobs that do not exist yet; returns the ids of those newly created.

        Each new job is put in its provider's index of jobs not yet started, due ``due_in``
        seconds from now, where a dispatcher finds it once the work already started is out.
        One script call writes :data:`CREATE_CHUNK` jobs of a batch, and the calls go in one
        pipeline: a large file costs a few hundred round trips.
        """
        now = self.clock()
        by_batch: dict[str, list[Job]] = {}
        for job in jobs:
            by_batch.setdefault(job.batch, []).append(job)
        pipe = self.redis.pipeline(transaction=False)
        for batch, members in by_batch.items():
            for start in range(0, len(members), CREATE_CHUNK):
                args: list[Any] = [now, now + due_in, batch]
                for job in members[start:start + CREATE_CHUNK]:
                    args += [job.id, job.provider, encode_json(job)]
                self._scripts["create"](keys=[keys.batch_key(batch), keys.batch_ids_key(batch)],
                                        args=args, client=pipe)
        fresh = {job_id for ids in pipe.execute() for job_id in ids}
        created = []
        for job in jobs:  # in the order given, each once
            if job.id in fresh:
                fresh.discard(job.id)
                created.append(job.id)
        return created

    # -- reading -----------------------------------------------------------------------------

    def get(self, job_id: str) -> Job | None:
        raw = self.redis.hgetall(keys.job_key(job_id))
        return decode(raw) if raw else None

    def get_many(self, job_ids: Iterable[str]) -> list[Job]:
        pipe = self.redis.pipeline(transaction=False)
        for job_id in job_ids:
            pipe.hgetall(keys.job_key(job_id))
        return [decode(raw) for raw in pipe.execute() if raw]

    def batch_counts(self, batch: str) -> dict[str, int] | None:
        raw = self.redis.hgetall(keys.batch_key(batch))
        if not raw:
            return None
        counts = {s: int(raw.get(s, 0)) for s in STATES}
        counts["total"] = int(raw.get("total", 0))
        return counts

    def batch_job_ids(self, batch: str, page: int = 1000) -> Iterable[list[str]]:
        """The batch's job ids in submission order, a page at a time."""
        start = 0
        while True:
            ids = self.redis.lrange(keys.batch_ids_key(batch), start, start + page - 1)
            if not ids:
                return
            yield ids
            start += len(ids)

    def cancel_requested(self, jobs: Iterable[Job], *, fresh: bool = False) -> set[str]:
        """The ids of ``jobs`` asked to stop, one by one or with their whole batch.

        The one place a step learns of a cancel request; each batch's flag is read once,
        however many of its jobs are asked about. ``fresh`` also re-reads each job's own flag
        (in the same round trip) instead of trusting the record as read earlier.
        """
        jobs = list(jobs)
        batches = sorted({job.batch for job in jobs})
        pipe = self.redis.pipeline(transaction=False)
        for batch in batches:
            pipe.hget(keys.batch_key(batch), "cancel")
        for job in jobs if fresh else ():
            pipe.hget(keys.job_key(job.id), "cancel_requested")
        answers = pipe.execute()
        stopped = {b for b, flag in zip(batches, answers) if flag == "1"}
        flagged = {job.id for job in jobs if job.cancel_requested}
        if fresh:
            flagged = {job.id for job, flag in zip(jobs, answers[len(batches):])
                       if decode_value("cancel_requested", flag)}
        return {job.id for job in jobs if job.id in flagged or job.batch in stopped}

    def ensure_batch(self, batch: str) -> None:
        """Makes an empty batch exist (a file with no valid line still gets a status)."""
        if self.redis.hsetnx(keys.batch_key(batch), "total", 0):
            now = self.clock()
            self.redis.hset(keys.batch_key(batch), "created_at", now)
            self.redis.zadd(keys.BATCHES, {batch: now}, nx=True)  # listed like any batch

    def request_job_cancel(self, job_ids: Iterable[str]) -> None:
        """Flags jobs for cancellation; steps honour the flag at their next look."""
        flag = encode_changes({"cancel_requested": True})
        pipe = self.redis.pipeline(transaction=False)
        for job_id in job_ids:
            self._scripts["flag"](keys=[keys.job_key(job_id)], args=flag, client=pipe)
        pipe.execute()

    def request_batch_cancel(self, batch: str) -> bool:
        """Marks a batch cancelled; False when the batch does not exist."""
        if not self.redis.exists(keys.batch_key(batch)):
            return False
        self.redis.hset(keys.batch_key(batch), "cancel", "1")
        return True

    # -- state changes -----------------------------------------------------------------------

    def transition(
        self,
        job_id: str,
        from_states: Iterable[str],
        to: str,
        *,
        schedule: tuple[str, float] | None = None,
        **fields: Any,
    ) -> TransitionResult:
        """Moves a job to ``to`` if it is in one of ``from_states``; returns (done, old state).

        ``schedule=(step, at)`` puts the job in that step's due index in the same atomic
        operation; ``to`` may equal the current state to update fields and reschedule only.
        ``fields`` are record fields (:mod:`worker.record`); one given as None is deleted.
        """
        code, old = self._transition_raw(job_id, from_states, to, schedule, None, fields)
        return code == 1, old

    def start_submitting(self, job_id: str, in_flight_limit: int | None, **fields: Any) -> str:
        """queued → submitting unless the provider already has ``in_flight_limit`` remote jobs
        alive; returns 'ok', 'at_limit', or the state that made the move impossible."""
        code, old = self._transition_raw(job_id, ["queued"], "submitting", None,
                                         in_flight_limit, fields)
        return {1: "ok", 2: "at_limit"}.get(code, old or "missing")

    def reschedule(self, job: Job, step: str, at: float, **fields: Any) -> bool:
        """Updates fields and schedules ``step`` at ``at`` if the job is still in its state."""
        return self.transition(job.id, [job.state], job.state, schedule=(step, at), **fields)[0]

    def own_remote(self, provider: str, remote_id: str, job_id: str) -> bool:
        """Registers ``remote_id`` as tracked by ``job_id``; False when another job has it.

        A remote job is never tracked by two of our jobs, even when a platform without
        tags can only be searched by payload.
        """
        if self.redis.set(keys.remote_key(provider, remote_id), job_id, nx=True):
            return True
        return self.redis.get(keys.remote_key(provider, remote_id)) == job_id

    def remote_owner(self, provider: str, remote_id: str) -> str | None:
        """The job tracking ``remote_id``, if any (``id#n``: attempt n of that job, retried)."""
        return self.redis.get(keys.remote_key(provider, remote_id))

    def retry_many(self, job_ids: Iterable[str], due_in: float) -> dict[str, str]:
        """Starts failed jobs again as new attempts of their keys, each only when no remote
        job of its earlier attempt may still run; job id → 'retried' or why not."""
        now = self.clock()
        ids = list(job_ids)
        pipe = self.redis.pipeline(transaction=False)
        for job_id in ids:
            self._scripts["retry"](keys=[keys.job_key(job_id)], args=[now, now + due_in],
                                   client=pipe)
        return {job_id: "retried" if answer == 1 else str(answer)
                for job_id, answer in zip(ids, pipe.execute())}

    def in_flight(self, provider: str) -> int:
        """Remote jobs of ``provider`` alive now (submitting or running)."""
        return int(self.redis.hget(keys.INFLIGHT, provider) or 0)

    def transition_many(self, moves: Sequence[Move]) -> list[TransitionResult]:
        """:meth:`transition` for many jobs in one round trip, each its own atomic script;
        ``moves`` are ``(job_id, from_states, to, schedule, fields)``."""
        pipe = self.redis.pipeline(transaction=False)
        for job_id, from_states, to, schedule, fields in moves:
            self._transition_raw(job_id, from_states, to, schedule, None, fields, client=pipe)
        return [(int(code) == 1, old or None) for code, old in pipe.execute()]

    def _transition_raw(self, job_id, from_states, to, schedule, limit, fields,
                        client=None) -> Any:
        step, at = schedule if schedule else ("", 0)
        args: list[Any] = [",".join(from_states), to, self.clock(), step, at,
                           "" if limit is None else limit, *encode_changes(fields)]
        answer = self._scripts["transition"](keys=[keys.job_key(job_id)], args=args,
                                             client=client)
        if client is not None:
            return answer  # a pipeline: the answer comes with its execute()
        code, old = answer
        return int(code), old or None
