"""Deep Origin's job params checked, and the create-execution body built from them (pure).

A ``tool`` job's params: ``{"tool": key, "version"?: "latest", "inputs": {...}, "name"?,
"metadata"?, "cluster_id"?}`` (keys and types as :data:`worker.providers.deeporigin.TOOL`
declares them; this module adds what the platform documents beyond them).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from worker.providers.deeporigin import TOOL
from worker.providers.deeporigin.records import reject
from worker.providers.types import JobSpec

APP_TAG = "jobfleet"  # the ``app`` tag on every execution we create
QUOTE_ONLY = -1  # approveAmount for "quote, do not run"; 0 would still run free quotes
DEFAULT_VERSION = "latest"  # the platform resolves it to the newest enabled version
_PARAM_KEYS = TOOL.names
_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")  # safe as one raw URL path segment


@dataclass(frozen=True)
class ToolParams:
    """A ``tool`` job's parameters, checked."""

    tool: str
    version: str
    inputs: Mapping[str, Any]
    name: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    cluster_id: str | None = None


def tool_params(job: JobSpec) -> ToolParams:
    """Checks a job's kind, params and ceiling; raises ``PermanentError`` naming the problem."""
    params = job.params
    if job.kind != "tool":
        reject(f"unsupported job kind {job.kind!r}; deeporigin runs 'tool' jobs")
    if not isinstance(params, Mapping):
        reject("params must be an object")
    if unknown := sorted(set(params) - _PARAM_KEYS):
        reject(f"unknown params: {', '.join(map(str, unknown))}")
    tool, version = params.get("tool"), params.get("version", DEFAULT_VERSION)
    for label, value in (("tool", tool), ("version", version)):
        if not isinstance(value, str) or not _SEGMENT.fullmatch(value):
            reject(
                f"params.{label} must be a key like 'deeporigin.docking' or 'latest', got {value!r}"
            )
    inputs, metadata = params.get("inputs"), params.get("metadata") or {}
    if not isinstance(inputs, Mapping) or not isinstance(metadata, Mapping):
        reject("params.inputs is required and, like params.metadata, must be an object")
    name, cluster_id = params.get("name"), params.get("cluster_id")
    if any(v is not None and not (isinstance(v, str) and v) for v in (name, cluster_id)):
        reject("params.name and params.cluster_id must be non-empty strings")
    try:
        json.dumps([inputs, metadata], allow_nan=False)
    except (TypeError, ValueError) as exc:
        reject(f"params.inputs/metadata must be plain JSON: {exc}")
    if job.max_price is not None and not (
        isinstance(job.max_price, (int, float)) and job.max_price >= 0
    ):
        reject(f"max_price must be a non-negative number, got {job.max_price!r}")
    return ToolParams(tool, version, inputs, name, metadata, cluster_id)


def build_create_body(job: JobSpec, project_id: str, cluster_id: str) -> dict[str, Any]:
    """The create-execution body; ``params.cluster_id`` wins over the given default cluster."""
    params = tool_params(job)
    body: dict[str, Any] = {
        "inputs": dict(params.inputs),
        "outputs": {},
        "metadata": {**params.metadata, "jobfleet_job_id": job.job_id},
        "projectId": project_id,
        "clusterId": params.cluster_id or cluster_id,
        "app": APP_TAG,
        "session": job.job_id,
    }
    if params.name is not None:
        body["name"] = params.name
    if job.max_price is not None:
        body["approveAmount"] = QUOTE_ONLY
    return body
