"""Job records, their state machine and the due-time index, all in Redis.

We own these keys; Celery's result backend is not used. Layout (single-node Redis)::

    jf:job:{id}              hash   the job record (fields below)
    jf:batch:{b}             hash   total, one counter per state, cancel flag: status is O(1)
    jf:batch:{b}:ids         list   job ids in submission order
    jf:due:{step}:{provider} zset   job id → when its next step is due (step: submit/poll/finalize)

State machine (terminal states are never left)::

    queued ──► submitting ──► running ──► succeeded
       │            │            ├──────► failed
       │            │            └──────► cancelled
       └────────────┴──► failed / cancelled

Every transition is one Lua script: check the current state, write the new one with its
timestamp, move the batch counters, and drop the job from the due index when it ends.
A step in progress holds a lease (``lease_until``): a worker that dies mid-step leaves a
lease that expires, and the dispatcher hands the step to another worker.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import redis

from worker import scripts

PREFIX = scripts.PREFIX
STEPS = ("submit", "poll", "finalize")
STATES = ("queued", "submitting", "running", "succeeded", "failed", "cancelled")
TERMINAL = frozenset({"succeeded", "failed", "cancelled"})
ACTIVE = tuple(s for s in STATES if s not in TERMINAL)

def job_key(job_id: str) -> str:
    return f"{PREFIX}job:{job_id}"


def batch_key(batch: str) -> str:
    return f"{PREFIX}batch:{batch}"


def batch_ids_key(batch: str) -> str:
    return f"{PREFIX}batch:{batch}:ids"


def due_key(step: str, provider: str) -> str:
    return f"{PREFIX}due:{step}:{provider}"


def make_job_id(batch: str, key: str) -> str:
    """Deterministic: the same client key in the same batch is always the same job."""
    return hashlib.sha256(f"{batch}\n{key}".encode()).hexdigest()[:24]


@dataclass(frozen=True)
class Job:
    """A job record as read from Redis. Holds no credential."""

    id: str
    batch: str
    key: str
    provider: str
    kind: str
    params: Mapping[str, Any]
    state: str
    fields: Mapping[str, str]

    @classmethod
    def from_hash(cls, raw: Mapping[str, str]) -> Job:
        return cls(
            id=raw["id"],
            batch=raw["batch"],
            key=raw["key"],
            provider=raw["provider"],
            kind=raw["kind"],
            params=json.loads(raw.get("params", "{}")),
            state=raw["state"],
            fields=raw,
        )

    def get(self, name: str) -> str | None:
        return self.fields.get(name)

    def number(self, name: str, default: float = 0.0) -> float:
        value = self.fields.get(name)
        return float(value) if value not in (None, "") else default

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL

    def public(self) -> dict[str, Any]:
        """The record as shown to users (results, status of one job)."""
        out: dict[str, Any] = {
            "id": self.id,
            "key": self.key,
            "batch": self.batch,
            "provider": self.provider,
            "kind": self.kind,
            "state": self.state,
            "remote_id": self.get("remote_id"),
        }
        if self.get("result"):
            out["result"] = self.get("result")
        if self.get("error"):
            out["error"] = self.get("error")
            out["reason"] = self.get("reason")
        if self.get("file_id"):
            out["file_id"] = self.get("file_id")
        out["times"] = {s: float(self.fields[f"t_{s}"]) for s in STATES if f"t_{s}" in self.fields}
        return out


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


class JobStore:
    """Atomic operations on job records, batches and the due index."""

    def __init__(self, client: redis.Redis, clock=time.time) -> None:
        self.redis = client
        self.clock = clock
        self._transition = client.register_script(scripts.TRANSITION)
        self._claim = client.register_script(scripts.CLAIM)
        self._claim_due = client.register_script(scripts.CLAIM_DUE)
        self._renew = client.register_script(scripts.RENEW)
        self._create = client.register_script(scripts.CREATE)
        self._flag = client.register_script(scripts.FLAG)

    # -- creation ---------------------------------------------------------------------------

    def create_many(self, records: Sequence[Mapping[str, Any]], due_in: float) -> list[str]:
        """Creates jobs that do not exist yet; returns the ids of those newly created.

        Each record has id, batch, key, provider, kind, params and optional extras; the job
        is put in the submit index ``due_in`` seconds from now as a safety net in case its
        submit message is lost.
        """
        now = self.clock()
        pipe = self.redis.pipeline(transaction=False)
        for rec in records:
            fields: list[str] = []
            for name, value in rec.items():
                if value is None:
                    continue
                fields += [name, value if isinstance(value, str) else json.dumps(value)]
            keys = [
                job_key(rec["id"]),
                batch_key(rec["batch"]),
                batch_ids_key(rec["batch"]),
                due_key("submit", rec["provider"]),
            ]
            self._create(keys=keys, args=[now, now + due_in, *fields], client=pipe)
        created = pipe.execute()
        return [rec["id"] for rec, new in zip(records, created) if new]

    # -- reading -----------------------------------------------------------------------------

    def get(self, job_id: str) -> Job | None:
        raw = self.redis.hgetall(job_key(job_id))
        return Job.from_hash(raw) if raw else None

    def get_many(self, job_ids: Iterable[str]) -> list[Job]:
        pipe = self.redis.pipeline(transaction=False)
        for job_id in job_ids:
            pipe.hgetall(job_key(job_id))
        return [Job.from_hash(raw) for raw in pipe.execute() if raw]

    def batch_counts(self, batch: str) -> dict[str, int] | None:
        raw = self.redis.hgetall(batch_key(batch))
        if not raw:
            return None
        counts = {s: int(raw.get(s, 0)) for s in STATES}
        counts["total"] = int(raw.get("total", 0))
        return counts

    def batch_job_ids(self, batch: str, page: int = 1000) -> Iterable[list[str]]:
        """The batch's job ids in submission order, a page at a time."""
        start = 0
        while True:
            ids = self.redis.lrange(batch_ids_key(batch), start, start + page - 1)
            if not ids:
                return
            yield ids
            start += len(ids)

    def batch_cancelled(self, batch: str) -> bool:
        return self.redis.hget(batch_key(batch), "cancel") == "1"

    def ensure_batch(self, batch: str) -> None:
        """Makes an empty batch exist (a file with no valid line still gets a status)."""
        self.redis.hsetnx(batch_key(batch), "total", 0)

    def request_job_cancel(self, job_ids: Iterable[str]) -> None:
        """Flags jobs for cancellation; steps honour the flag at their next look."""
        pipe = self.redis.pipeline(transaction=False)
        for job_id in job_ids:
            self._flag(keys=[job_key(job_id)], args=["cancel_requested", "1"], client=pipe)
        pipe.execute()

    def request_batch_cancel(self, batch: str) -> bool:
        """Marks a batch cancelled; False when the batch does not exist."""
        if not self.redis.exists(batch_key(batch)):
            return False
        self.redis.hset(batch_key(batch), "cancel", "1")
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
    ) -> tuple[bool, str | None]:
        """Moves a job to ``to`` if it is in one of ``from_states``; returns (done, old state).

        ``schedule=(step, at)`` puts the job in that step's due index in the same atomic
        operation; ``to`` may equal the current state to update fields and reschedule only.
        A field given as None is deleted.
        """
        code, old = self._transition_raw(job_id, from_states, to, schedule, None, fields)
        return code == 1, old

    def start_submitting(self, job_id: str, in_flight_limit: int | None, **fields: Any) -> str:
        """queued → submitting unless the provider already has ``in_flight_limit`` remote jobs
        alive; returns 'ok', 'at_limit', or the state that made the move impossible."""
        code, old = self._transition_raw(job_id, ["queued"], "submitting", None,
                                         in_flight_limit, fields)
        return {1: "ok", 2: "at_limit"}.get(code, old or "missing")

    def own_remote(self, provider: str, remote_id: str, job_id: str) -> bool:
        """Registers ``remote_id`` as tracked by ``job_id``; False when another job has it.

        A remote job is never tracked by two of our jobs, even when a platform without
        tags can only be searched by payload.
        """
        key = f"{PREFIX}remote:{provider}"
        if self.redis.hsetnx(key, remote_id, job_id):
            return True
        return self.redis.hget(key, remote_id) == job_id

    def remote_owner(self, provider: str, remote_id: str) -> str | None:
        """The job tracking ``remote_id``, if any."""
        return self.redis.hget(f"{PREFIX}remote:{provider}", remote_id)

    def in_flight(self, provider: str) -> int:
        """Remote jobs of ``provider`` alive now (submitting or running)."""
        return int(self.redis.hget(f"{PREFIX}inflight", provider) or 0)

    def _transition_raw(self, job_id, from_states, to, schedule, limit, fields) -> tuple[int, Any]:
        step, at = schedule if schedule else ("", 0)
        args: list[Any] = [",".join(from_states), to, self.clock(), step, at,
                           "" if limit is None else limit]
        for name, value in fields.items():
            args += [name, "" if value is None else value]
        code, old = self._transition(keys=[job_key(job_id)], args=args)
        return int(code), old or None

    def reschedule(self, job: Job, step: str, at: float, **fields: Any) -> bool:
        """Updates fields and schedules ``step`` at ``at`` if the job is still in its state."""
        return self.transition(job.id, [job.state], job.state, schedule=(step, at), **fields)[0]

    def claim(self, job_id: str, step: str, states: Sequence[str], lease_s: float,
              require: str = "") -> str:
        """Takes the lease of ``step``: 'fresh', 'resume', or the reason it was not taken."""
        return self.claim_lease(job_id, step, states, lease_s, require)[0]

    def claim_lease(self, job_id: str, step: str, states: Sequence[str], lease_s: float,
                    require: str = "") -> tuple[str, str]:
        """Like :meth:`claim`, also returning the lease's token for :meth:`renew_lease`."""
        now = self.clock()
        token = f"{now + lease_s:.6f}"
        status = self._claim(keys=[job_key(job_id)],
                             args=[step, ",".join(states), now, token, require])
        return status, token

    def renew_lease(self, job_id: str, step: str, token: str, lease_s: float) -> str | None:
        """Extends a lease we still hold, before an action that must not run twice (an
        upload); returns the new token, or None when another worker has taken the step over."""
        new = f"{self.clock() + lease_s:.6f}"
        return new if self._renew(keys=[job_key(job_id)], args=[step, token, new]) else None

    def claim_due(self, step: str, provider: str, lease_s: float, limit: int) -> list[str]:
        """Claims due jobs of one step and provider, pushing their due time out by the lease."""
        now = self.clock()
        return self._claim_due(keys=[due_key(step, provider)], args=[now, now + lease_s, limit])

    def due_counts(self, providers: Iterable[str]) -> dict[str, int]:
        """Jobs waiting in each step's index (all providers), for monitoring."""
        pipe = self.redis.pipeline(transaction=False)
        names = []
        for step in STEPS:
            for provider in providers:
                pipe.zcard(due_key(step, provider))
                names.append(step)
        counts = dict.fromkeys(STEPS, 0)
        for name, n in zip(names, pipe.execute()):
            counts[name] += n
        return counts
