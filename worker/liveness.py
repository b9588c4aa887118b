"""Notices a worker whose Celery consumer has stopped taking messages, and ends the process.

A Celery consumer on Redis can stop taking messages for good while the process lives on:
its dispatcher, heartbeat and sweep threads keep working, so nothing else looks wrong (the
class of celery#8091 and kombu#2629). The one way found here, cutting a worker's Redis
connections while every thread is busy, hung the consumer's event loop in a read; that is
fixed in :mod:`worker.broker` (``bench/README.md``, "A consumer that stops taking
messages"). This check is the net for the rest of the class, whatever its cause.

The check compares what the consumer could take with what it took. Every few seconds it
observes how many messages the consumer has taken so far (Celery's ``task_received``,
``task_rejected`` and ``task_unknown`` signals), how many wait in the queues it consumes
(``LLEN`` of every lane), and how many more it may take (its prefetch limit less the
messages it holds on its current connection). A live consumer with room never leaves a
ready message waiting, so a stretch of observations that all show messages waiting and
room, while the count of taken messages stands still, means it is stalled; :func:`follow`
and :func:`stalled` decide that, as a pure function of the observations. An idle fleet
(nothing waiting), a worker busy on all its threads (no room), a Redis that cannot be read
and a consumer reconnecting (no observation) never start such a stretch.

The act is to exit, not to restart the consumer in place. What stalls the consumer is state
inside Celery and kombu that we do not own (a poller registration, prefetch credit, or, as
found, the event loop itself blocked), and a restart in place would have to run on that very
event loop; a new process starts from nothing. The fleet is built to lose a worker: the
steps it runs come back one lease after its last heartbeat, the messages it took and never
started after the pickup window, and a warm shutdown hands its unacknowledged messages
back at once (when the loop is blocked, the process exits :data:`WARM_EXIT_GRACE_S` later
without one). The exit status is :data:`EXIT_CODE`, so a supervisor that restarts failed
services (compose ``restart: unless-stopped``, systemd ``Restart=on-failure``) starts a
new worker in its place.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass

import redis
from celery import signals
from celery.worker import state

from worker.broker import queued

log = logging.getLogger("jobfleet.liveness")

EXIT_CODE = 75  # EX_TEMPFAIL: "try again later"; any supervisor counts it a failure
SAMPLES_PER_BOUND = 6  # observations within one bound: a stall is seen on six of them
WARM_EXIT_GRACE_S = 20.0  # twice the soft shutdown (10 s): a warm shutdown still going is cut


@dataclass(frozen=True)
class Observation:
    """What one look at the consumer saw; ``None`` where nothing could be seen."""

    at: float  # monotonic seconds
    taken: int  # messages the consumer has taken since the process started
    waiting: int | None  # ready messages in the queues it consumes (None: Redis unreadable)
    room: int | None  # messages it may still take (None: not connected)


@dataclass(frozen=True)
class Stretch:
    """Since when work has waited, with room to take it, and nothing was taken."""

    taken: int = -1
    since: float | None = None


def follow(stretch: Stretch, seen: Observation) -> Stretch:
    """The stretch after observation ``seen``: ended unless work waited and there was room,
    begun afresh when the consumer took anything since the last look."""
    if not seen.waiting or (seen.room or 0) <= 0:
        return Stretch(seen.taken, None)
    if stretch.since is None or seen.taken != stretch.taken:
        return Stretch(seen.taken, seen.at)
    return stretch


def stalled(stretch: Stretch, now: float, bound_s: float) -> bool:
    """Whether the consumer has taken nothing for ``bound_s`` while it could have."""
    return stretch.since is not None and now - stretch.since >= bound_s


class _Taken:
    """Counts the messages the consumer hands on (tasks, and those it rejects or does not
    know), from Celery's signals, which its event loop sends as it takes each one."""

    def __init__(self) -> None:
        self.count = 0
        for signal in (signals.task_received, signals.task_rejected, signals.task_unknown):
            signal.connect(self._one, weak=False)

    def _one(self, **_: object) -> None:
        self.count += 1


class ConsumerWatch:
    """Observes a worker's consumer (Celery's ``Consumer``) and ends the process when it
    has stalled for ``bound_s``."""

    def __init__(self, consumer, client: redis.Redis, bound_s: float) -> None:
        self.consumer = consumer
        self.redis = client
        self.bound_s = bound_s
        self.taken = _Taken()
        self.stretch = Stretch()
        self._stopping = threading.Event()

    def observe(self) -> Observation:
        """One look at the consumer and its queues."""
        task_consumer = getattr(self.consumer, "task_consumer", None)
        room = waiting = None
        if task_consumer is not None:
            room = self._room(task_consumer)
            waiting = self._waiting([queue.name for queue in task_consumer.queues])
        return Observation(time.monotonic(), self.taken.count, waiting, room)

    def _room(self, task_consumer) -> int | None:
        """The prefetch limit less the messages held from the consumer's current channel."""
        limit = getattr(getattr(self.consumer, "qos", None), "value", None)
        if not limit:
            return None  # no limit in force (or not set up yet): room cannot be told
        try:
            held = sum(1 for request in list(state.reserved_requests)
                       if request.message.channel is task_consumer.channel)
        except RuntimeError:  # the set changed while read: the consumer is busy taking
            return None
        return limit - held

    def _waiting(self, queues: list[str]) -> int | None:
        """Messages ready in ``queues``, every lane of each (:func:`worker.broker.queued`)."""
        try:
            return sum(queued(self.redis, queue) for queue in queues)
        except redis.RedisError:
            return None

    def check(self) -> bool:
        """One round: observes, and ends the process if the consumer has stalled."""
        seen = self.observe()
        self.stretch = follow(self.stretch, seen)
        if not stalled(self.stretch, seen.at, self.bound_s):
            return False
        log.error("consumer stalled: took no message for %.0fs while %s waited in its "
                  "queues and it had room for %s; exiting (status %d) for the supervisor "
                  "to start a new worker (JOBFLEET_CONSUMER_STALL_S=%g)",
                  seen.at - self.stretch.since, seen.waiting, seen.room, EXIT_CODE,
                  self.bound_s)
        self._shut_down()
        return True

    def _shut_down(self) -> None:
        """A warm shutdown (running steps may finish, unacknowledged messages go back), which
        Celery's event loop starts on its next turn; cut short if it never comes."""
        state.should_stop = EXIT_CODE
        time.sleep(WARM_EXIT_GRACE_S)  # a daemon thread: a process that ends first stops here
        log.error("warm shutdown did not end in %.0fs; exiting now", WARM_EXIT_GRACE_S)
        os._exit(EXIT_CODE)

    def start(self) -> None:
        threading.Thread(target=self._run, name="jobfleet-consumer-watch", daemon=True).start()

    def stop(self) -> None:
        self._stopping.set()

    def _run(self) -> None:
        interval = self.bound_s / SAMPLES_PER_BOUND
        while not self._stopping.wait(interval):
            try:
                if self.check():
                    return
            except Exception:  # noqa: BLE001 - a failed look is no verdict; look again
                log.warning("consumer check failed; retrying", exc_info=True)
