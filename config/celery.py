"""Celery settings shared by the worker app and the producers' sending-only app.

Both sides build their app from :func:`celery_config`, so task names, queues and
serialisation can never drift apart. The choices, and why:

- JSON only: a message is data, never code, and carries job ids, never credentials.
- Late acks and a prefetch of one: a message leaves Redis only when its task is done, and a
  worker holds at most one message beyond those it runs. No countdowns are ever sent: waiting
  lives in our due index (``worker.store``), not in worker memory.
- The visibility timeout is only a backstop: a worker that dies mid-step leaves a lease in
  our job record that expires after ``JOBFLEET_LEASE_S`` and the dispatcher resumes the step.
- No result backend: job state is ours, in ``jf:*`` keys.
"""

from __future__ import annotations

from typing import Any

from config.settings import FleetSettings

TASKS = {
    "submit": "jobfleet.submit",
    "poll": "jobfleet.poll",
    "finalize": "jobfleet.finalize",
    "cancel": "jobfleet.cancel",
}
QUEUES = {step: f"jobfleet.{step}" for step in TASKS}


def celery_config(fleet: FleetSettings) -> dict[str, Any]:
    """The Celery configuration mapping for ``app.conf.update``."""
    transport = {
        "visibility_timeout": fleet.visibility_timeout_s,
        "socket_timeout": 30,
        "socket_connect_timeout": 10,
        "retry_on_timeout": True,
        "health_check_interval": 25,
    }
    return {
        "broker_url": fleet.redis_url,
        "broker_transport_options": transport,
        "broker_connection_retry_on_startup": True,
        "broker_connection_max_retries": None,  # a Redis restart is waited out, not fatal
        "result_backend": None,
        "task_ignore_result": True,
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "task_acks_late": True,
        "task_reject_on_worker_lost": False,  # our leases resume the step; no redelivery loop
        "worker_prefetch_multiplier": 1,
        "task_default_queue": QUEUES["submit"],
        "task_routes": {name: {"queue": QUEUES[step]} for step, name in TASKS.items()},
        "task_create_missing_queues": True,
        "worker_send_task_events": True,  # Flower
        "task_send_sent_event": True,
        "worker_hijack_root_logger": False,
        "worker_cancel_long_running_tasks_on_connection_loss": False,
        # On SIGTERM, steps in progress get this long to finish before a cold shutdown; what
        # is cut off is resumed by another worker when its lease runs out.
        "worker_soft_shutdown_timeout": 10.0,
        "timezone": "UTC",
    }


# How ``jobfleet worker`` starts Celery unless told otherwise: a thread pool (the work is
# waiting on HTTP, and threads share one connection pool), every queue, events for Flower.
WORKER_CONCURRENCY = 16
WORKER_DEFAULTS = (
    "--pool=threads",
    f"--concurrency={WORKER_CONCURRENCY}",
    "--queues=" + ",".join(QUEUES.values()),
    "--task-events",
    "--without-mingle",  # no start-up round trip to other workers: our state is in Redis
    "--without-gossip",
    "--loglevel=INFO",
)


def worker_argv(extra: list[str]) -> list[str]:
    """Celery worker arguments: our defaults, with any option the caller gave winning."""
    given = {arg.split("=", 1)[0] for arg in extra if arg.startswith("-")}
    short = {"-P": "--pool", "-c": "--concurrency", "-Q": "--queues", "-l": "--loglevel",
             "-E": "--task-events"}
    given |= {short[a] for a in extra if a in short}
    kept = [d for d in WORKER_DEFAULTS if d.split("=", 1)[0] not in given]
    return ["worker", *kept, *extra]
