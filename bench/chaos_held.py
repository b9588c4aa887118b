"""Which jobs a killed worker held: the jobs of the messages it had received and not finished.

The recovery figures count every job that was mid-step at a disruption, including jobs
merely due and waiting their turn, so they cannot say what a kill itself stranded. This
module names those jobs, from two records the run already keeps:

* Celery's unacknowledged messages in Redis (the ``unacked`` hash of kombu's Redis
  transport, read just before the kill): task id → the job ids the message carries. With
  late acks a message stays there until its task is done, whichever worker holds it.
* the killed worker's own log, complete up to the SIGKILL: ``Task …[id] received`` for
  every message it took, ``succeeded`` / ``raised`` / ``retry`` for every one it finished.

Held = received and not finished by the victim, looked up in the unacked messages. A job
that message had already finished before the kill counts too (its step may be due again
meanwhile): the figure is "the killed worker's messages", an upper bound on its share.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import redis

UNACKED = "unacked"  # kombu's Redis transport default (``unacked_key``)
TASK_LINE = re.compile(r"Task [\w.]+\[([0-9a-f-]+)\] (received|succeeded|raised|retry)")


def unacked_messages(client: redis.Redis) -> dict[str, list[str]]:
    """Task id → job ids, for every message delivered to some worker and not acknowledged."""
    out: dict[str, list[str]] = {}
    for raw in client.hvals(UNACKED):
        try:
            message = json.loads(raw)[0]
            args = json.loads(base64.b64decode(message["body"]))[0]
            out[message["headers"]["id"]] = [str(job_id) for job_id in args[0]]
        except (ValueError, KeyError, IndexError, TypeError):
            continue  # not one of our step messages (e.g. a cancel fan-out)
    return out


def open_tasks(log_path: Path) -> set[str]:
    """Task ids the worker logged as received and not as finished."""
    received: set[str] = set()
    finished: set[str] = set()
    if not log_path.exists():
        return received
    for line in log_path.read_text(errors="replace").splitlines():
        found = TASK_LINE.search(line)
        if found:
            (received if found.group(2) == "received" else finished).add(found.group(1))
    return received - finished


def held_jobs(unacked: dict[str, list[str]], log_path: Path) -> set[str]:
    """The jobs of the messages the worker logging to ``log_path`` held when it died."""
    return {job_id for task in open_tasks(log_path) for job_id in unacked.get(task, ())}
