"""OpenProtein jobs: the record, its wire status, the Job JSON and the `v1/jobs` routes.

A job belongs to the user who created it; another user's job is a 404. Statuses are exactly
`PENDING RUNNING RETRYING SUCCESS FAILURE CANCELED` (one L). The platform has no cancel
endpoint, so two OpenProtein-only keys of the `_emulator` override make the remaining
statuses reachable: `retrying_s` shows `RETRYING` for the first seconds of the run (as after a
worker crash on the platform), and `cancel_after_s` cancels the job that long after creation
(as someone doing it in the web app would). Both are taken out before the shared
`parse_override` sees the rest.

The list (`GET v1/jobs`) is a bare array, newest first (ties by id), filtered by `status`,
`job_type`, `assay_id`, `more_recent_than` (created strictly after, naive = UTC), and paged
by `page_size` (or its old alias `limit`, default 100, at most 1,000) and `page_offset`.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from typing import Any

from aiohttp import web

from emulator.clock import (
    CANCELLED,
    FAILED,
    OVERRIDE_FIELD,
    QUEUED,
    QUOTED,
    RUNNING,
    SUCCEEDED,
    JobRecord,
    OverrideError,
    parse_override,
)
from emulator.openprotein.auth import USER_KEY, detail
from emulator.provider import ProviderContext, canonical_hash

STATUS_BY_PHASE = {
    QUOTED: "PENDING",  # never used: OpenProtein jobs start at once
    QUEUED: "PENDING",
    RUNNING: "RUNNING",
    SUCCEEDED: "SUCCESS",
    FAILED: "FAILURE",
    CANCELLED: "CANCELED",
}
RETRYING, SUCCESS = "RETRYING", "SUCCESS"
STATUSES = frozenset({*STATUS_BY_PHASE.values(), RETRYING})
EXTRA_OVERRIDE_KEYS = ("retrying_s", "cancel_after_s")
DEFAULT_PAGE_SIZE = 100  # the official client always sends page_size, 100 by default
MAX_PAGE_SIZE = 1_000


@dataclass(slots=True)
class OpenProteinJob:
    """The OpenProtein part of a job record (`JobRecord.data`)."""

    owner: str
    job_type: str
    args: dict[str, Any]  # what `GET v1/jobs/{id}/args` answers
    names: list[str]  # MSA: record names; embeddings: empty
    sequences: list[str]
    sequence_length: int | None = None
    num_records: int | None = None
    retrying_s: float = 0.0
    cancel_at: float | None = None
    cache: dict[str, Any] = field(default_factory=dict)  # generated results, made once


def planned_override(ctx: ProviderContext, raw: Any, first_sequence: str) -> Any:
    """The override sent with the create, else the one planned for its first sequence.

    The official client has no way to send ``_emulator``, and a client that must not know
    the emulator (the fleet's worker) sends none: such jobs are planned ahead through
    ``POST /_emulator/plans``, keyed by their first sequence.
    """
    return raw if raw is not None else ctx.plans.get(first_sequence)


def read_override(raw: Any) -> tuple[dict[str, Any] | None, dict[str, float]]:
    """Split `_emulator` into the shared override and the OpenProtein-only keys.

    Raises OverrideError, like `parse_override`, for anything malformed.
    """
    if raw is None:
        return None, {}
    if not isinstance(raw, dict):
        raise OverrideError(f"{OVERRIDE_FIELD} must be an object")
    rest, extras = dict(raw), {}
    for key in EXTRA_OVERRIDE_KEYS:
        if key not in rest:
            continue
        value = rest.pop(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise OverrideError(f"{OVERRIDE_FIELD}.{key} must be a number >= 0")
        if not (math.isfinite(value) and value >= 0):
            raise OverrideError(f"{OVERRIDE_FIELD}.{key} must be a finite number >= 0")
        extras[key] = float(value)
    return parse_override(rest), extras


def create_job(
    ctx: ProviderContext,
    data: OpenProteinJob,
    request_body: Any,
    override: dict[str, Any] | None,
    extras: dict[str, float],
) -> JobRecord:
    """Plan and record a job; the payload hash covers the whole create request."""
    plan = ctx.clock.plan(ctx.settings, override)
    data.retrying_s = extras.get("retrying_s", 0.0)
    job = ctx.create_job(
        str(uuid.uuid4()), plan, awaiting_confirmation=False, tag=None,
        payload_hash=canonical_hash([data.job_type, request_body]), data=data,
        scope=data.owner,
    )
    if "cancel_after_s" in extras:
        data.cancel_at = job.created_at + extras["cancel_after_s"]
    return job


_OUTCOME_PHASES = {STATUS_BY_PHASE[SUCCEEDED]: SUCCEEDED, STATUS_BY_PHASE[FAILED]: FAILED}


def wire_status(job: JobRecord, now: float) -> str:
    """The status string at `now`, after any scheduled cancel has taken effect."""
    data: OpenProteinJob = job.data
    if data.cancel_at is not None and job.cancelled_at is None and now >= data.cancel_at:
        job.cancel(data.cancel_at)  # no-op when the job had already ended by then
    phase = job.phase(now)
    started = job.started_at(now)
    if phase == RUNNING and started is not None and now < started + data.retrying_s:
        return RETRYING
    return STATUS_BY_PHASE[phase]


def iso(timestamp: float | None) -> str | None:
    """ISO 8601 UTC with milliseconds and `Z` (the client parses any ISO form), or None."""
    if timestamp is None:
        return None
    moment = datetime.fromtimestamp(timestamp, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def render(job: JobRecord, now: float) -> dict[str, Any]:
    """The full Job object: every create, get and list answers this shape."""
    data: OpenProteinJob = job.data
    status = wire_status(job, now)
    started = job.started_at(now)
    body: dict[str, Any] = {
        "job_id": job.remote_id,
        "job_type": data.job_type,
        "status": status,
        "created_date": iso(job.created_at),
        "start_date": iso(started),
        "end_date": iso(job.finished_at(now)),
        "prerequisite_job_id": None,
        "progress_message": "retrying after a worker failure" if status == RETRYING else None,
        "progress_counter": None if started is None else round(job.progress(now) * 100),
        "sequence_length": data.sequence_length,
    }
    if status == "FAILURE":
        body["failure_message"] = job.plan.reason
    if data.num_records is not None:
        body["num_records"] = data.num_records
    return body


def find_job(ctx: ProviderContext, request: web.Request, job_id: str) -> JobRecord | None:
    """The caller's own job with this id, or None (someone else's is just as unknown)."""
    job = ctx.jobs.get(job_id)
    if job is None or job.data.owner != request[USER_KEY]:
        return None
    return job


class ListError(ValueError):
    """A malformed list query; the message is the 422's `detail`."""


def _int(query: Any, name: str, default: int, low: int) -> int:
    raw = query.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ListError(f"{name} must be an integer") from exc
    if value < low:
        raise ListError(f"{name} must be >= {low}")
    return value


def _since(text: str | None) -> float | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise ListError(f"more_recent_than is not an ISO 8601 datetime: {text!r}") from exc
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def list_jobs(ctx: ProviderContext, user: str, query: Any) -> list[dict[str, Any]]:
    """One page of the caller's jobs as Job objects; raises ListError."""
    status, job_type, assay = query.get("status"), query.get("job_type"), query.get("assay_id")
    if status is not None and status not in STATUSES:
        raise ListError(f"status must be one of {', '.join(sorted(STATUSES))}")
    size = min(_int(query, "page_size", _int(query, "limit", DEFAULT_PAGE_SIZE, 1), 1),
               MAX_PAGE_SIZE)
    offset = _int(query, "page_offset", 0, 0)
    since, now = _since(query.get("more_recent_than")), ctx.clock.now()
    if assay is not None:
        return []  # no assays are emulated
    rows = _window(ctx, user, status, since, now)
    if job_type is None and status is None:  # a page is a slice of the index
        end = len(rows) - offset
        page = rows[max(end - size, 0) : max(end, 0)][::-1]
    else:
        wanted = (job for job in reversed(rows)
                  if (job_type is None or job.data.job_type == job_type)
                  and (status is None or wire_status(job, now) == status))
        page = list(islice(wanted, offset, offset + size))
    return [render(job, now) for job in page]


def _window(
    ctx: ProviderContext, user: str, status: str | None, since: float | None, now: float
) -> list[JobRecord]:
    """The caller's candidate jobs, oldest first: those that ended so, when the status
    asked for is an outcome (the index keeps them), else all created after ``since``."""
    phase = _OUTCOME_PHASES.get(status or "")
    if phase is not None:
        return ctx.index.in_phase(user, phase, now, since)
    return ctx.index.created(user, since)


class JobsApi:
    """`GET v1/jobs`, `GET v1/jobs/{id}` and `GET v1/jobs/{id}/args`."""

    def __init__(self, ctx: ProviderContext) -> None:
        self.ctx = ctx

    def routes(self, guard: Any) -> list[web.RouteDef]:
        """Routes in match order; `guard` adds the bearer check."""
        return [
            web.get("/v1/jobs", guard(self.listing)),
            web.get("/v1/jobs/{job_id}", guard(self.get)),
            web.get("/v1/jobs/{job_id}/args", guard(self.args)),
        ]

    async def listing(self, request: web.Request) -> web.Response:
        """A bare JSON array of Job objects."""
        try:
            return web.json_response(list_jobs(self.ctx, request[USER_KEY], request.query))
        except ListError as exc:
            return detail(422, str(exc))

    async def get(self, request: web.Request) -> web.Response:
        """One Job object, or 404."""
        job = find_job(self.ctx, request, request.match_info["job_id"])
        if job is None:
            return detail(404, f"Job {request.match_info['job_id']} not found")
        return web.json_response(render(job, self.ctx.clock.now()))

    async def args(self, request: web.Request) -> web.Response:
        """The arguments the job was created with (without `_emulator`)."""
        job = find_job(self.ctx, request, request.match_info["job_id"])
        if job is None:
            return detail(404, f"Job {request.match_info['job_id']} not found")
        return web.json_response(job.data.args)
