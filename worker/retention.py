"""The retention janitor: what ``JOBFLEET_RETENTION_DAYS`` removes that Redis cannot expire.

Redis expires an ended job's record and a finished batch's keys by itself (the job store's
scripts set the expiries, see :mod:`worker.keys`). Two things need a hand:

* **result files**: finalize holds the locations it is about to write before it writes them
  (:func:`hold_planned`), and when a job ends its scripts hold the locations its manifest
  names (its ``_data.json`` included), all due when its record expires; the janitor then
  removes exactly those files from the result store, local or S3 (a page of them per
  ``DeleteObjects`` request), and never a location outside the store's root (refused with
  one line, and not asked again). A file that could not be removed stays held, is named in
  one line (a round's first few; the rest counted), and is tried again next round;
* **the fleet-wide counts** (``jobfleet_jobs`` on ``/metrics``): a batch's jobs per platform
  and state are taken off them when its retention ends, and its last keys go with them.

Every worker process runs a :class:`RetentionThread`; a short Redis lease gives each round to
one of them. Both removals are safe to repeat, and new work in a batch (a retry, a key
submitted again) keeps its files and counts. ``jobfleet forget`` retires a batch the same way
at once (:func:`retire_now`).
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass

from worker import keys, scripts
from worker.results.store import ResultStore
from worker.store import JobStore

log = logging.getLogger("jobfleet.retention")

JANITOR_MAX_S = 60.0  # files and counts go at most this long after their retention ends
PAGE = 500  # jobs or batches handled per Redis round trip
FAILED_LINES = 10  # files not removed named one line each per round; beyond, one count


@dataclass(frozen=True)
class Swept:
    """What one round removed: batches retired, files removed, locations refused."""

    batches: int = 0
    files: int = 0
    refused: int = 0


class Janitor:
    """Removes the result files and batch counts whose retention has ended."""

    def __init__(self, store: JobStore, results: ResultStore) -> None:
        self.redis = store.redis
        self.clock = store.clock
        self.results = results
        self.interval = min(JANITOR_MAX_S, store.retention_s)
        self._retire = _script(store, "retire")
        self._release = _script(store, "release_files")
        self._token = secrets.token_hex(8)

    def take_turn(self) -> bool:
        """True when this process runs this round (a lease a little shorter than a round)."""
        return bool(self.redis.set(keys.RETENTION_LEASE, self._token, nx=True,
                                   px=max(1, int(self.interval * 900))))

    def run_once(self) -> Swept:
        """One round: every job's files whose retention has ended, then every such batch."""
        now = self.clock()
        files, refused = self._remove_files(now)
        return Swept(self._retire_batches(now), files, refused)

    def _remove_files(self, now: float) -> tuple[int, int]:
        removed = refused = kept = 0
        failed: list[tuple[str, str, str]] = []  # (job id, location, why), for the log
        while True:  # a job with a file not removed stays due: the next page starts after it
            ids = self.redis.zrangebyscore(keys.FILES_DUE, "-inf", now, start=kept, num=PAGE)
            if not ids:
                break
            held = {job_id: json.loads(at or "[]")
                    for job_id, at in zip(ids, self.redis.hmget(keys.HELD_FILES, ids))}
            done = self.results.remove_files(at for locations in held.values() for at in locations)
            release: list[str] = []
            gone = set(done.removed)
            for job_id, locations in held.items():
                for location in locations:
                    if location in done.refused:
                        log.warning("retention: not removed for job %s: %s", job_id,
                                    done.refused[location])
                        refused += 1
                    elif location in done.failed:
                        failed.append((job_id, location, done.failed[location]))
                left = [at for at in locations if at in done.failed]
                removed += sum(at in gone for at in locations)
                kept += bool(left)
                release += [job_id, json.dumps(left) if left else ""]
            self._release(args=[now, *release])
            if len(ids) < PAGE:
                break
        _log_failed(failed)
        return removed, refused

    def _retire_batches(self, now: float) -> int:
        retired = 0
        while True:
            names = self.redis.zrangebyscore(keys.RETIRING, "-inf", now, start=0, num=PAGE)
            if not names:
                break
            retired += len(self._retire(args=[now, "", *names]))
            if len(names) < PAGE:
                break
        return retired


def _log_failed(failed: list[tuple[str, str, str]]) -> None:
    """One line per file not removed this round (they stay held), the first few of them."""
    for job_id, location, why in failed[:FAILED_LINES]:
        log.warning("retention: could not remove %s for job %s (%s); kept, tried again next "
                    "round", location, job_id, why)
    if len(failed) > FAILED_LINES:
        log.warning("retention: %d more file(s) could not be removed this round; kept, tried "
                    "again next round", len(failed) - FAILED_LINES)


def retire_now(store: JobStore, batch: str) -> None:
    """Takes a batch being forgotten off the fleet-wide counts and deletes its keys now."""
    _script(store, "retire")(args=[store.clock(), "1", batch])


def hold_planned(store: JobStore, job_id: str, locations: list[str]) -> bool:
    """Holds the files a finalize is about to write for a running job, before it writes any:
    if the finalize is then refused (the job cancelled, or the step taken over), they still
    go when the job's retention ends. False when the job is no longer running: write nothing."""
    return bool(_script(store, "hold_planned")(keys=[keys.job_key(job_id)],
                                               args=[job_id, *locations]))


def drop_held_files(pipe, job_ids: list[str]) -> None:
    """Forgets the files these jobs held, on a pipeline (``forget`` removes the batch's
    folder itself)."""
    pipe.zrem(keys.FILES_DUE, *job_ids)
    pipe.hdel(keys.HELD_FILES, *job_ids)


def _script(store: JobStore, name: str):
    return store.redis.register_script(scripts.source(name, store.retention_s))


class RetentionThread(threading.Thread):
    """Runs a :class:`Janitor` once a round (:attr:`Janitor.interval`) until stopped."""

    def __init__(self, make: Callable[[], Janitor]) -> None:
        super().__init__(name="jobfleet-retention", daemon=True)
        self.make = make
        self.stopping = threading.Event()

    def run(self) -> None:
        janitor = self.make()
        while not self.stopping.wait(janitor.interval):
            try:
                if janitor.take_turn():
                    swept = janitor.run_once()
                    if swept != Swept():
                        log.info("retention: %d batch(es) retired, %d file(s) removed",
                                 swept.batches, swept.files)
            except Exception:  # noqa: BLE001 - Redis or the store may be away; next round
                log.warning("retention round failed; trying again next round", exc_info=True)

    def stop(self) -> None:
        self.stopping.set()
