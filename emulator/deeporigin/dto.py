"""Deep Origin execution DTOs, exactly as the official client reads them.

The DTO is rendered fresh from the job record on every read, because the status is a function
of time. Key names are the tools service's camelCase (`executionId`, `userInputs`,
`jobOutputs`, `quotationResult` ...); `tool` is always an object with string `key`/`version`;
timestamps are ISO strings with milliseconds and `Z`, or null.

Outputs are deterministic: a completed job's `jobOutputs.result` is derived from a hash of its
inputs (minus the reserved `_emulator` object), and the same result is served as a file at
`tool-runs/{executionId}/result.json`, so a client can check what it downloads.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from emulator.clock import (
    CANCELLED,
    FAILED,
    OVERRIDE_FIELD,
    QUEUED,
    QUOTED,
    RUNNING,
    SUCCEEDED,
    JobRecord,
)
from emulator.provider import canonical_hash

STATUS_BY_PHASE = {
    QUOTED: "Quoted",
    QUEUED: "Queued",
    RUNNING: "Running",
    SUCCEEDED: "Completed",
    FAILED: "Failed",
    CANCELLED: "Cancelled",
}
# "latest" must resolve to *some* concrete version; the emulator has no tool catalogue.
LATEST_VERSION = "1.0.0"
EMULATOR_USER = "emulator-user"
CANCEL_REASON = "Cancelled by request"
CLUSTER_ID = "emulator-cluster-1"


@dataclass(slots=True)
class Execution:
    """The Deep Origin part of a job record (`JobRecord.data`)."""

    org: str
    tool_key: str
    tool_version: str
    body: dict[str, Any]
    result: dict[str, Any] | None = None
    row: Any = None  # its list row, kept by emulator.deeporigin.rows

    def inputs(self) -> dict[str, Any]:
        """The `inputs` object as the client sent it (including any `_emulator`)."""
        return self.body["inputs"]

    def is_sync(self) -> bool:
        """Whether the client asked the POST to block (`sync` top level or in `inputs`)."""
        return self.body.get("sync") is True or self.inputs().get("sync") is True


def resolve_version(pin: str) -> str:
    """Turn the caller's pin into a concrete semver: `latest`, `4` and `4.2` are padded."""
    if pin == "latest":
        return LATEST_VERSION
    parts = pin.split(".")
    if 1 <= len(parts) < 3 and all(part.isdigit() for part in parts):
        return ".".join(parts + ["0"] * (3 - len(parts)))
    return pin


def iso(timestamp: float | None) -> str | None:
    """`YYYY-MM-DDTHH:MM:SS.mmmZ`, the client's own format, or None."""
    if timestamp is None:
        return None
    moment = datetime.fromtimestamp(timestamp, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def result_of(job: JobRecord) -> dict[str, Any]:
    """The deterministic result of a job (cached on the record after the first call)."""
    execution: Execution = job.data
    if execution.result is None:
        inputs = {k: v for k, v in execution.inputs().items() if k != OVERRIDE_FIELD}
        digest = canonical_hash({"tool": execution.tool_key, "inputs": inputs})
        score = round(int(digest[:8], 16) / 0xFFFFFFFF, 6)
        execution.result = {"input_sha256": digest, "score": score}
    return execution.result


def result_file_key(execution_id: str) -> str:
    """Where a completed execution's result file lives, relative to the org."""
    return f"tool-runs/{execution_id}/result.json"


def result_file_bytes(job: JobRecord) -> bytes:
    """The content of the result file: the result plus what produced it."""
    execution: Execution = job.data
    document = {
        "executionId": job.remote_id,
        "tool": {"key": execution.tool_key, "version": execution.tool_version},
        **result_of(job),
    }
    return json.dumps(document, sort_keys=True, indent=2).encode()


def job_outputs(job: JobRecord) -> dict[str, Any]:
    """`jobOutputs` of a completed execution; every `file_path` is downloadable."""
    return {
        "result": result_of(job),
        "result_file": {"file_path": result_file_key(job.remote_id)},
    }


def quotation(price: float) -> dict[str, Any]:
    """A `quotationResult` whose single successful quotation totals `price`."""
    return {
        "anyFailed": False,
        "failedQuotations": [],
        "successfulQuotations": [
            {
                "status": "OK",
                "itemCode": "EMULATOR",
                "qty": 1,
                "priceEach": price,
                "priceTotal": price,
            }
        ],
    }


def progress_report(job: JobRecord, now: float, status: str, v2: bool) -> Any:
    """Null until running; then `{"complete": pct}` (v1) or a one-node progress tree (v2)."""
    if job.started_at(now) is None:
        return None
    percent = round(job.progress(now) * 100)
    if not v2:
        return {"complete": percent}
    return {
        "id": job.remote_id,
        "displayName": job.data.tool_key,
        "status": status,
        "message": None,
        "progress": percent,
        "startedAt": iso(job.started_at(now)),
        "finishedAt": iso(job.finished_at(now)),
        "children": [],
        "toolProgress": {"complete": percent},
    }


def render(job: JobRecord, now: float, *, v2: bool = False) -> dict[str, Any]:
    """The full execution DTO for `job` as of `now`."""
    execution: Execution = job.data
    body = execution.body
    phase = job.phase(now)
    status = STATUS_BY_PHASE[phase]
    started, finished = job.started_at(now), job.finished_at(now)
    events = [t for t in (job.created_at, job.clock_start, started, finished) if t is not None]
    reason = job.plan.reason if phase == FAILED else CANCEL_REASON if phase == CANCELLED else None
    cluster_id = body.get("clusterId") or CLUSTER_ID
    dto: dict[str, Any] = {
        "executionId": job.remote_id,
        "status": status,
        "tool": {"key": execution.tool_key, "version": execution.tool_version},
        "name": body.get("name"),
        "createdAt": iso(job.created_at),
        "updatedAt": iso(max(events)),
        "startedAt": iso(started),
        "completedAt": iso(finished),
        "createdBy": EMULATOR_USER,
        "approveAmount": body.get("approveAmount"),
        "app": body.get("app"),
        "session": body.get("session"),
        "projectId": body.get("projectId"),
        "clusterId": cluster_id,
        "cluster": {"id": cluster_id},
        "visibility": body.get("visibility", "visible"),
        "userInputs": execution.inputs(),
        "userOutputs": body.get("outputs", {}),
        "metadata": body.get("metadata", {}),
        "jobOutputs": job_outputs(job) if phase == SUCCEEDED else None,
        "progressReport": progress_report(job, now, status, v2),
        "statusReason": reason,
        "quotationResult": quotation(job.plan.price),
        "orgKey": execution.org,
        "type": "ToolExecution",
    }
    for optional in ("batchSize", "tag", "billing"):
        if optional in body:
            dto[optional] = body[optional]
    return dto
