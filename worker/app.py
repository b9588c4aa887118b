"""The one Celery app of the fleet: configuration, and its background threads' lifecycle.

Start a worker with ``jobfleet worker`` (or ``celery -A worker.app worker``). Each worker
process also runs a dispatcher thread that turns due jobs into messages (see
:mod:`worker.dispatcher`) and one status-sweep thread per platform, of which a Redis lease
lets exactly one in the fleet sweep each credential (see :mod:`worker.sweep`), a
retention thread that removes ended jobs' result files and retires expired batches (see
:mod:`worker.retention`), and a thread that ends the process if its consumer stops taking
messages (see :mod:`worker.liveness`).
"""

from __future__ import annotations

import logging
import time

from celery import Celery, signals

from config.celery import QUEUES, TASKS, celery_config
from config.settings import fleet_settings, limit_settings
from worker import broker
from worker.dispatcher import Dispatcher, DispatcherThread
from worker.liveness import ConsumerWatch
from worker.pickup import LANE_NAMES, PickupWindow
from worker.providers import provider_names
from worker.retention import Janitor, RetentionThread
from worker.runtime import runtime
from worker.sweep import Sweeper, SweepThread
from worker.telemetry import recorder

PROVIDERS = provider_names()  # every provider the dispatcher serves
for _name in PROVIDERS:  # a bad JOBFLEET_<PLATFORM>_* setting stops the worker here, in one line
    limit_settings(_name)

broker.install()
app = Celery("jobfleet")
app.conf.update(celery_config(fleet_settings()))
app.conf.include = ["worker.tasks"]

log = logging.getLogger("jobfleet.worker")
_dispatcher: DispatcherThread | None = None
_sweepers: list[SweepThread] = []
_janitor: RetentionThread | None = None
_watch: ConsumerWatch | None = None


def send_step(step: str, job_ids: list[str], until: float | None = None,
              unstarted: bool = False) -> None:
    """Sends one message carrying ``job_ids`` to the task of ``step``, when it was sent (the
    worker that starts it measures the queue's wait: see :mod:`worker.pickup`) and, from a
    dispatcher, ``until``: the end of the pickup window its claim set on the jobs. Jobs not
    yet started (``unstarted``) go in the queue's last lane, after all started work
    (:mod:`worker.broker`)."""
    kwargs = {"sent_at": round(time.time(), 3)}
    if until is not None:
        kwargs["until"] = until
    app.send_task(TASKS[step], args=[job_ids], kwargs=kwargs, queue=QUEUES[step],
                  priority=broker.priority_of(unstarted))


def _make_dispatcher() -> Dispatcher:
    settings = runtime.settings
    window = PickupWindow(runtime.redis, LANE_NAMES, floor_s=settings.pickup_s,
                          cap_s=settings.pickup_max_s)  # see worker.pickup
    return Dispatcher(
        runtime.store,
        PROVIDERS,
        send_step,
        lambda step, unstarted: broker.queued(runtime.redis, QUEUES[step],
                                              broker.priority_of(unstarted)),
        runtime.in_flight.room,
        pickup=window,
        batch=settings.dispatch_batch,
        chunk=settings.chunk_size,
        high_water=settings.queue_high_water,
    )


@signals.worker_ready.connect
def _start_dispatcher(sender: object = None, **_: object) -> None:
    global _dispatcher, _janitor, _watch
    _dispatcher = DispatcherThread(_make_dispatcher, runtime.settings.dispatch_interval_s)
    _dispatcher.start()
    _janitor = RetentionThread(lambda: Janitor(runtime.store, runtime.results))
    _janitor.start()
    _watch = ConsumerWatch(sender, runtime.redis, runtime.settings.consumer_stall_s)
    _watch.start()  # a consumer that stops taking messages ends the process (worker.liveness)
    runtime.heartbeat.start()
    recorder.attach(runtime.redis)
    for name in PROVIDERS:
        thread = SweepThread(name, lambda name=name: _make_sweeper(name))
        thread.start()
        _sweepers.append(thread)
    log.info("dispatcher, status sweeps and retention started")


def _make_sweeper(name: str) -> Sweeper | None:
    """The sweeper of provider ``name``'s credential; None when sweeps do not cover it."""
    if name not in runtime.policy.swept:
        return None
    return Sweeper(runtime, name, rps=limit_settings(name).rps)


@signals.worker_process_init.connect
def _child_metrics(**_: object) -> None:
    """A prefork pool's child flushes its own metrics (threads share the parent's)."""
    recorder.attach(runtime.redis)


@signals.worker_shutdown.connect
def _stop(**_: object) -> None:
    for thread in (_dispatcher, _janitor, _watch):
        if thread is not None:
            thread.stop()
    runtime.heartbeat.stop()
    recorder.stop()
    for thread in _sweepers:
        thread.stop()
    runtime.close()
