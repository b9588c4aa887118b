"""The jobs API's wire shapes: task records, conditions, errors and create-body checks.

Chosen to differ from the three platforms on purpose, so the declarative provider is shown
to follow a spec file rather than habits: the id is a ``token``, the status is a
``condition`` in its own vocabulary, times are epoch milliseconds, errors are the envelope
``{"error": {"code", "message"}}``, and every record is wrapped (``{"task": {...}}``).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from emulator.clock import CANCELLED, FAILED, QUEUED, QUOTED, RUNNING, SUCCEEDED, JobRecord

CONDITION_BY_PHASE = {
    QUOTED: "accepted",  # never produced (no quotes here), kept total
    QUEUED: "accepted",
    RUNNING: "in_progress",
    SUCCEEDED: "done",
    FAILED: "errored",
    CANCELLED: "aborted",
}
CONDITIONS = frozenset(CONDITION_BY_PHASE.values())
ENDED = frozenset({"done", "errored", "aborted"})
MAX_KEY_CHARS = 255  # longest Idempotency-Key accepted, as common APIs document
MAX_PRIORITY = 9
MAX_HINT_MS = 5000  # the longest "check again in" the API suggests


@dataclass
class Task:
    """What the API keeps about one task beside its clock record."""

    seq: int
    template: str
    input: dict[str, Any]
    priority: int
    labels: dict[str, str]
    idempotency_key: str | None
    body_hash: str
    credential: str
    extra: dict[str, Any] = field(default_factory=dict)


def new_token() -> str:
    """A fresh task token: ``tsk_`` and 20 hex digits."""
    return f"tsk_{secrets.token_hex(10)}"


def error(status: int, code: str, message: str) -> web.Response:
    """The API's error envelope."""
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


def millis(moment: float | None) -> int | None:
    """Epoch seconds as integer epoch milliseconds (the API's time format)."""
    return None if moment is None else int(round(moment * 1000))


def render(job: JobRecord, now: float) -> dict[str, Any]:
    """One task as the API shows it (bare; endpoints wrap it as they need)."""
    task: Task = job.data
    condition = CONDITION_BY_PHASE[job.phase(now)]
    problem = {"reason": job.plan.reason} if condition == "errored" else None
    return {
        "token": job.remote_id,
        "template": task.template,
        "condition": condition,
        "priority": task.priority,
        "labels": task.labels,
        "idempotency_key": task.idempotency_key,
        "submitted_at": millis(job.created_at),
        "started_at": millis(job.started_at(now)),
        "ended_at": millis(job.finished_at(now)),
        "progress": round(job.progress(now), 3),
        "problem": problem,
        "check_after_ms": None if condition in ENDED else check_after_ms(job, now),
    }


def check_after_ms(job: JobRecord, now: float) -> int:
    """When the task is expected to end, capped: the API's polling hint."""
    start = now if job.clock_start is None else job.clock_start
    left = start + job.plan.queue_s + job.plan.duration_s - now
    return int(min(max(left, 0.0) * 1000, MAX_HINT_MS))


def create_problem(body: Any) -> str | None:
    """Why a create body is refused (400), or None."""
    if not isinstance(body, Mapping):
        return "the body must be a JSON object"
    unknown = sorted(set(body) - {"template", "input", "priority", "labels"})
    if unknown:
        return f"unknown field(s): {', '.join(unknown)}"
    if not isinstance(body.get("template"), str) or not body["template"].strip():
        return "template must be a non-empty string"
    if not isinstance(body.get("input"), Mapping):
        return "input must be an object"
    priority = body.get("priority", 0)
    if isinstance(priority, bool) or not isinstance(priority, int) or not (
            0 <= priority <= MAX_PRIORITY):
        return f"priority must be an integer 0-{MAX_PRIORITY}"
    labels = body.get("labels", {})
    if not isinstance(labels, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in labels.items()):
        return "labels must map strings to strings"
    return None


def key_problem(key: str | None) -> str | None:
    """Why an ``Idempotency-Key`` header is refused (400), or None (absent is fine)."""
    if key is None:
        return None
    if not key.strip() or len(key) > MAX_KEY_CHARS:
        return f"Idempotency-Key must be 1-{MAX_KEY_CHARS} characters"
    return None
