"""How long work stays stuck after a disruption: ``max_recovery_s``.

Just before each disruption (a worker SIGKILLed, Redis restarted) the tracker snapshots the
jobs that were *mid-step* at that moment:

* state ``submitting``;
* a step lease still running (``lease_until`` in the future);
* a due time already passed (the job waits in ``jf:due:*`` for a dispatcher, or, not yet
  started, in ``jf:unstarted:*`` for its first submit);
* a poll in flight: its due entry was pushed past the scheduled ``next_poll`` by a
  dispatcher's claim, so a message for it is out with some worker.

It then reads those jobs from Redis every ``POLL_S`` and notes, for each, when its record
first changes: its state, its ``lease_until`` or its due entry (step or time). A job's
recovery time is that moment minus the disruption's; ``max_recovery_s`` is the largest over
every job and every disruption. Jobs on surviving workers change at once and count too (the
snapshot cannot know which worker held what), so the maximum is what means something: a job
that a dead worker held waits out its lease, then a dispatcher claims it again.
A job still unchanged when the run ends counts with the time up to the end.

Jobs not yet started (new jobs waiting for their first submit, in ``jf:unstarted:*``) are
caught too, but their figures are kept apart (``unstarted_max_s``, ``unstarted_max_stall_s``;
run-wide ``max_recovery_unstarted_s``, ``max_stall_unstarted_s``): no step of theirs was
under way, so no disruption stranded one; they wait their turn behind a backlog, disruption
or not, and the dispatchers take them only after the work already started. ``max_recovery_s``
and ``max_stall_s`` are over the jobs whose work had started; the largest of both pairs is
the figure over every caught job, as the harness reported it before the two were told apart.

For a kill, the jobs of the messages the killed worker held (:mod:`bench.chaos_held`) are
also named, and their figures kept apart (``held_max_s``, ``held_max_stall_s``): what the
kill itself stranded, beside everything that merely waited its turn at that moment.

A dispatcher's re-claim moves the due time, so it ends a recovery even when the message it
sends is lost again (to the next kill). ``max_stall_s`` is therefore also kept: per
disruption, the time until each caught job's step *ran* again — its state, lease,
``polls``/``errors`` counters or ``remote_done`` changed — which spans chained losses.
"""

from __future__ import annotations

import contextlib
import statistics
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import redis

from bench.chaos_held import held_jobs, unacked_messages
from worker.keys import due_key, job_key, unstarted_key
from worker.record import STEPS

POLL_S = 0.5
IN_FLIGHT_SLACK_S = 1.0  # a claim pushes the due time a whole lease past next_poll
WORST_KEPT = 12  # jobs per disruption kept as evidence in the result file
FIELDS = ("state", "lease_until", "next_poll", "polls", "errors", "remote_done")
UNSTARTED = "unstarted"  # a snapshot's index for a job not yet started (jf:unstarted:*)
INDEXES = (*STEPS, UNSTARTED)


def _largest(values: list[float]) -> float:
    return round(max(values), 2) if values else 0.0


@dataclass
class Watch:
    """The jobs one disruption caught mid-step, and when each one moved again."""

    kind: str
    at: float  # monotonic
    offset_s: float
    before: dict[str, Snapshot]
    epoch: float = 0.0  # wall-clock time of the snapshot (due times are wall-clock)
    held: set[str] | None = None  # mid-step jobs in the killed worker's messages (kills only)
    recovered: dict[str, float] = field(default_factory=dict)  # job id → seconds after `at`
    progressed: dict[str, float] = field(default_factory=dict)  # job id → seconds after `at`
    unrecovered: list[str] = field(default_factory=list)

    @property
    def unstarted(self) -> set[str]:
        """The caught jobs not yet started: waiting for their first submit."""
        return {job_id for job_id, snap in self.before.items() if snap.step == UNSTARTED}

    def times(self, unstarted: bool = False) -> tuple[list[float], list[float]]:
        """Recovery and stall times of the started jobs (or of those not yet started)."""
        new = self.unstarted
        ids = [j for j in self.before if (j in new) == unstarted]
        return ([self.recovered[j] for j in ids if j in self.recovered],
                [self.progressed[j] for j in ids if j in self.progressed])

    def summary(self) -> dict[str, object]:
        (times, stalls), (new_times, new_stalls) = self.times(), self.times(unstarted=True)
        started = {j: t for j, t in self.progressed.items() if j not in self.unstarted}
        return {
            "kind": self.kind, "at_s": self.offset_s,
            "mid_step": len(self.before) - len(self.unstarted),
            "max_s": _largest(times),
            "median_s": round(statistics.median(times), 2) if times else 0.0,
            "max_stall_s": _largest(stalls),
            "unrecovered": len(self.unrecovered),
            "unstarted": len(self.unstarted), "unstarted_max_s": _largest(new_times),
            "unstarted_max_stall_s": _largest(new_stalls),
            **self._held_summary(),
            "slowest": self._slowest(started, "stall_s"),
            "slowest_recovery": self._slowest(
                {j: t for j, t in self.recovered.items() if j in started}, "recovery_s"),
            "worst": [self._evidence(job_id) for job_id in sorted(
                self.before, key=lambda j: -max(self.recovered.get(j, 0.0),
                                                self.progressed.get(j, 0.0)))[:WORST_KEPT]],
        }

    def _held_summary(self) -> dict[str, object]:
        """The figures over the jobs the killed worker held (none for a Redis restart)."""
        if self.held is None:
            return {}
        times = [self.recovered[j] for j in self.held if j in self.recovered]
        stalls = [self.progressed[j] for j in self.held if j in self.progressed]
        return {"held": len(self.held), "held_max_s": _largest(times),
                "held_max_stall_s": _largest(stalls)}

    def _evidence(self, job_id: str) -> dict[str, object]:
        snap = self.before[job_id]
        return {"job": job_id, "recovery_s": round(self.recovered.get(job_id, 0.0), 2),
                "stall_s": round(self.progressed.get(job_id, 0.0), 2), "state": snap.state,
                "due_step": snap.step,
                "due_in_s": None if snap.due is None else round(snap.due - self.epoch, 2),
                "leased": snap.lease_until is not None}

    def _slowest(self, times: dict[str, float], name: str) -> dict[str, object] | None:
        """The job that took longest (to move, or to run its step again), and where it was
        at the disruption: evidence for the report."""
        if not times:
            return None
        job_id = max(times, key=times.get)
        snap = self.before[job_id]
        return {"job": job_id, name: round(times[job_id], 2),
                "state": snap.state, "due_step": snap.step,
                "due_in_s": None if snap.due is None else round(snap.due - self.epoch, 2),
                "leased": snap.lease_until is not None}


@dataclass(frozen=True)
class Snapshot:
    """What the tracker reads of one job."""

    state: str | None
    lease_until: str | None
    step: str | None  # the due index the job is in, if any (UNSTARTED: not yet started)
    due: float | None
    next_poll: float | None
    work: tuple  # polls, errors, remote_done: they move only when a step really ran

    @property
    def record(self) -> tuple:
        """Changes when the state, the lease or the due entry moves (``max_recovery_s``)."""
        return (self.state, self.lease_until, self.step, self.due)

    @property
    def progress(self) -> tuple:
        """Changes only when a step ran: state, lease taken, counters (``max_stall_s``)."""
        return (self.state, self.lease_until, self.work)


class RecoveryTracker(threading.Thread):
    """Snapshots mid-step jobs at each disruption and times their next change."""

    def __init__(self, redis_url: str, providers: Mapping[str, str]) -> None:
        """``providers``: job id → platform, for every job of the run."""
        super().__init__(name="chaos-recovery", daemon=True)
        self.client = redis.Redis.from_url(redis_url, decode_responses=True, socket_timeout=2,
                                           socket_connect_timeout=2)
        self.providers = dict(providers)
        self.watches: list[Watch] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    def disrupt(self, kind: str, offset_s: float, action: Callable[[], object],
                log_of: Callable[[object], Path] | None = None) -> object:
        """Snapshots the mid-step jobs, then runs ``action`` (the kill or restart). For a
        kill, ``log_of(what action returned)`` is the victim's log: the jobs it held are
        named from it and the unacknowledged messages read just before."""
        at, epoch = time.monotonic(), time.time()
        unacked: dict[str, list[str]] = {}
        try:
            before = self._mid_step(epoch)
            if log_of is not None:
                unacked = unacked_messages(self.client)
        except redis.RedisError:
            before = {}  # Redis already down: nothing can be read, nothing is claimed
        watch = Watch(kind, at, offset_s, before, epoch=epoch)
        with self.lock:
            self.watches.append(watch)
        done = action()
        if log_of is not None:
            held = held_jobs(unacked, log_of(done)) & set(before)
            with self.lock:
                watch.held = held
        return done

    def run(self) -> None:
        while not self.stopping.wait(POLL_S):
            try:
                self._check()
            except redis.RedisError:
                continue  # Redis restarting: the stuck time keeps counting

    def finish(self) -> list[Watch]:
        """Stops polling; whatever never moved counts up to now."""
        self.stopping.set()
        self.join(5)
        with contextlib.suppress(redis.RedisError):
            self._check()
        now = time.monotonic()
        with self.lock:
            for watch in self.watches:
                for job_id in watch.before:
                    if job_id not in watch.recovered:
                        watch.unrecovered.append(job_id)
                        watch.recovered[job_id] = now - watch.at
                    watch.progressed.setdefault(job_id, now - watch.at)
        self.client.close()
        return self.watches

    def max_recovery_s(self, unstarted: bool = False) -> float:
        """The longest recovery of a job whose work had started (or, ``unstarted``, of a
        job not yet started), over every disruption."""
        return _largest([t for w in self.watches for t in w.times(unstarted)[0]])

    def max_stall_s(self, unstarted: bool = False) -> float:
        """As :meth:`max_recovery_s`, until the job's step ran again (or first ran)."""
        return _largest([t for w in self.watches for t in w.times(unstarted)[1]])

    def max_held_s(self) -> tuple[float, float]:
        """The largest recovery and stall over jobs a killed worker held (every kill)."""
        held = [(w.recovered, w.progressed, w.held) for w in self.watches if w.held]
        times = [r[j] for r, _, h in held for j in h if j in r]
        stalls = [p[j] for _, p, h in held for j in h if j in p]
        return _largest(times), _largest(stalls)

    def _check(self) -> None:
        with self.lock:
            pending = {job_id for w in self.watches for job_id in w.before
                       if job_id not in w.progressed}
        if not pending:
            return
        now = self._snapshots(sorted(pending))
        seen = time.monotonic()
        with self.lock:
            for watch in self.watches:
                for job_id, before in watch.before.items():
                    current = now.get(job_id)
                    if current is None:
                        continue
                    if job_id not in watch.recovered and current.record != before.record:
                        watch.recovered[job_id] = seen - watch.at
                    if job_id not in watch.progressed and current.progress != before.progress:
                        watch.progressed[job_id] = seen - watch.at

    def _mid_step(self, now: float) -> dict[str, Snapshot]:
        caught = {}
        for job_id, snap in self._snapshots(list(self.providers)).items():
            if snap.state in (None, "succeeded", "failed", "cancelled"):
                continue
            in_flight = (snap.step == "poll" and snap.due is not None
                         and snap.next_poll is not None
                         and snap.due > snap.next_poll + IN_FLIGHT_SLACK_S)
            if (snap.state == "submitting"
                    or (snap.lease_until is not None and float(snap.lease_until) > now)
                    or (snap.due is not None and snap.due <= now) or in_flight):
                caught[job_id] = snap
        return caught

    def _snapshots(self, job_ids: list[str]) -> dict[str, Snapshot]:
        pipe = self.client.pipeline(transaction=False)
        for job_id in job_ids:
            provider = self.providers[job_id]
            pipe.hmget(job_key(job_id), *FIELDS)
            for step in STEPS:
                pipe.zscore(due_key(step, provider), job_id)
            pipe.zscore(unstarted_key(provider), job_id)
        answers = pipe.execute()
        out = {}
        width = 1 + len(INDEXES)
        for i, job_id in enumerate(job_ids):
            (state, lease, next_poll, *work), *scores = answers[i * width:(i + 1) * width]
            step, due = next(((s, d) for s, d in zip(INDEXES, scores) if d is not None),
                             (None, None))
            out[job_id] = Snapshot(state, lease, step, due,
                                   float(next_poll) if next_poll else None, tuple(work))
        return out
