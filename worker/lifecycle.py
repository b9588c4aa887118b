"""A batch's life after its jobs end: listing batches, retrying failed jobs, forgetting.

Retention is not here: the job store's scripts give ended jobs and finished batches their
expiry (see :mod:`worker.keys`) and :mod:`worker.retention` removes what Redis cannot expire.
What is here: the batch list (and pruning the names of batches that have expired from it), a
retry that never starts a second remote job while the first may still run, and removing one
batch at once with everything it owns.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from worker import keys
from worker.record import ACTIVE, STATES
from worker.retention import drop_held_files, retire_now
from worker.store import JobStore

FORGET_PAGE = 500  # jobs deleted per Redis round trip


@dataclass(frozen=True)
class BatchSummary:
    name: str
    created: float
    counts: dict[str, int]
    finished_at: float | None

    @property
    def done(self) -> bool:
        return not any(self.counts[s] for s in ACTIVE)


def list_batches(store: JobStore) -> list[BatchSummary]:
    """Every batch still held, oldest first, with its counts (one round trip for all)."""
    names = store.redis.zrange(keys.BATCHES, 0, -1, withscores=True)
    pipe = store.redis.pipeline(transaction=False)
    for name, _ in names:
        pipe.hgetall(keys.batch_key(name))
    found = []
    for (name, created), raw in zip(names, pipe.execute()):
        if not raw:
            continue  # expired; the janitor prunes the name
        counts = {s: int(raw.get(s, 0)) for s in STATES}
        counts["total"] = int(raw.get("total", 0))
        finished = float(raw["finished_at"]) if raw.get("finished_at") else None
        found.append(BatchSummary(name, float(raw.get("created_at", created)), counts, finished))
    return found


def prune_batches(store: JobStore) -> int:
    """Drops from the batch list the names of batches whose keys have expired."""
    names = store.redis.zrange(keys.BATCHES, 0, -1)
    pipe = store.redis.pipeline(transaction=False)
    for name in names:
        pipe.exists(keys.batch_key(name))
    gone = [name for name, alive in zip(names, pipe.execute()) if not alive]
    if gone:
        store.redis.zrem(keys.BATCHES, *gone)
    return len(gone)


def failed_jobs(store: JobStore, batch: str, reasons: Iterable[str] = ()) -> Iterator[str]:
    """Ids of the batch's failed jobs, with one of ``reasons`` when any are given."""
    wanted = set(reasons)
    for ids in store.batch_job_ids(batch):
        for job in store.get_many(ids):
            if job.state == "failed" and (not wanted or job.reason in wanted):
                yield job.id


def forget_batch(store: JobStore, batch: str) -> int:
    """Deletes a batch now: every job record, registry entry and batch key, and takes its jobs
    off the fleet-wide counts; returns how many jobs were removed. The caller makes sure no
    job is in flight, and removes the batch's result files."""
    removed = 0
    while True:
        ids = store.redis.lrange(keys.batch_ids_key(batch), 0, FORGET_PAGE - 1)
        if not ids:
            break
        doomed = [keys.job_key(job_id) for job_id in ids] + _registry_entries(store, ids)
        pipe = store.redis.pipeline(transaction=False)
        pipe.delete(*doomed)
        pipe.ltrim(keys.batch_ids_key(batch), len(ids), -1)
        drop_held_files(pipe, ids)
        pipe.execute()
        removed += len(ids)
    retire_now(store, batch)
    return removed


def _registry_entries(store: JobStore, ids: list[str]) -> list[str]:
    """The registry keys these jobs own (their current remote job and retried ones' past)."""
    pipe = store.redis.pipeline(transaction=False)
    for job_id in ids:
        pipe.hmget(keys.job_key(job_id), "provider", "remote_id", "past_remote_ids")
    candidates = []
    for job_id, (provider, remote_id, past) in zip(ids, pipe.execute()):
        remotes = [remote_id] if remote_id else []
        remotes += json.loads(past) if past else []
        candidates += [(job_id, keys.remote_key(provider, rid)) for rid in remotes]
    for _, entry in candidates:
        pipe.get(entry)
    return [entry for (job_id, entry), owner in zip(candidates, pipe.execute())
            if owner and owner.split("#")[0] == job_id]
