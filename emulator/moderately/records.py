"""Execution records as the API returns them, rendered fresh from the job clock on every read.

Every key the OpenAPI document marks required is present. Both kinds carry the six
timestamps (`startedAt`, `completedAt`, `failedAt`, `cancelledAt`, `pausedAt` and
`updatedAt`). The record has no error field, so a failure reason goes where clients can
find it: for a pipeline in `progressData.error` (the official client reads it there), for
an agent in `agentOutputSummary` and in a last thought. `progressData` is always an object,
never null, and the step counts are integers: the client's `repr` does arithmetic on them.
"""

from __future__ import annotations

import math
from typing import Any

from emulator.clock import CANCELLED, FAILED, SUCCEEDED, JobRecord
from emulator.moderately.model import (
    Execution,
    delivered_via_s3,
    output_of,
    output_summary,
    s3_uri,
)
from emulator.moderately.wire import STATUS_BY_PHASE, iso

DEFAULT_AGENT_STEPS = 5  # an agent without maxActions "takes" this many steps
DEFAULT_PIPELINE_STEPS = 1  # a pipeline created without totalSteps is one step


def _timestamps(job: JobRecord, now: float) -> dict[str, str | None]:
    phase = job.phase(now)
    started, finished = job.started_at(now), job.finished_at(now)
    events = [t for t in (job.created_at, started, finished) if t is not None]
    return {
        "createdAt": iso(job.created_at),
        "updatedAt": iso(max(events)),
        "startedAt": iso(started),
        "completedAt": iso(finished) if phase == SUCCEEDED else None,
        "failedAt": iso(finished) if phase == FAILED else None,
        "cancelledAt": iso(finished) if phase == CANCELLED else None,
        "pausedAt": None,
    }


def _step(job: JobRecord, now: float, total: int) -> int:
    return min(total, math.floor(job.progress(now) * total))


def _thoughts(job: JobRecord, now: float) -> list[dict[str, Any]]:
    started = job.started_at(now)
    if started is None:
        return []
    thoughts = [{"text": "Planning the steps for this request", "createdAt": iso(started)}]
    if job.phase(now) == FAILED:
        failed_at = iso(job.finished_at(now))
        thoughts.append({"text": f"Failed: {job.plan.reason}", "createdAt": failed_at})
    return thoughts


def render_agent(job: JobRecord, now: float) -> dict[str, Any]:
    """The AgentExecution object as of `now`."""
    execution: Execution = job.data
    body, phase = execution.body, job.phase(now)
    max_actions = body.get("maxActions")
    summary = output_summary(job) if phase == SUCCEEDED else None
    if phase == FAILED:
        summary = job.plan.reason
    return {
        "agentExecutionId": job.remote_id,
        "agentConfigurationVersionId": execution.config_version_id,
        "agentInput": execution.input,
        "agentInputSchema": body.get("agentInputSchema"),
        "agentInputSummary": execution.summary,
        "agentOutput": output_of(job) if phase == SUCCEEDED else None,
        "agentOutputSchema": body.get("agentOutputSchema"),
        "agentOutputSummary": summary,
        "status": STATUS_BY_PHASE[phase],
        "thoughts": _thoughts(job, now),
        "maxActions": max_actions,
        "currentStep": _step(job, now, max_actions or DEFAULT_AGENT_STEPS),
        "planningInterval": body.get("planningInterval"),
        **_timestamps(job, now),
    }


def _progress_data(job: JobRecord, now: float, step: int, total: int) -> dict[str, Any]:
    phase = job.phase(now)
    if phase == FAILED:
        return {"error": job.plan.reason, "message": f"Failed: {job.plan.reason}"}
    if phase == CANCELLED:
        return {"message": "Cancelled", "cancelReason": job.data.cancel_reason}
    if job.started_at(now) is None:
        return {}
    percent = round(job.progress(now) * 100)
    return {"message": f"Step {min(step + 1, total)} of {total}", "percent": percent}


def render_pipeline(job: JobRecord, now: float) -> dict[str, Any]:
    """The PipelineExecution object as of `now`; S3-delivered output is not inlined."""
    execution: Execution = job.data
    phase = job.phase(now)
    total = execution.body.get("totalSteps") or DEFAULT_PIPELINE_STEPS
    step = _step(job, now, total)
    done = phase == SUCCEEDED
    via_s3 = done and delivered_via_s3(job)
    return {
        "pipelineExecutionId": job.remote_id,
        "pipelineConfigurationVersionId": execution.config_version_id,
        "pipelineInput": execution.input,
        "pipelineInputSummary": execution.summary,
        "pipelineOutput": output_of(job) if done and not via_s3 else None,
        "pipelineOutputSummary": output_summary(job) if done else None,
        "status": STATUS_BY_PHASE[phase],
        "progressData": _progress_data(job, now, step, total),
        "pipelineOutputFileUri": s3_uri(job) if via_s3 else None,
        "currentStep": step,
        "totalSteps": total,
        **_timestamps(job, now),
    }
