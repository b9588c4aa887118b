"""Deep Origin's wire format: job params, request bodies and record readers, all pure.

Kept apart from :mod:`worker.providers.deeporigin` (which does the HTTP) so each piece can be
tested on its own. Wire protocol: ``/work/shared/providers/deeporigin.md``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn

from worker.errors import BadResponse, PermanentError, UnsafeAnswer
from worker.providers.base import JobSpec, RemoteState, RemoteStatus, bad_answer, normalise_status
from worker.results.names import UnsafeName, safe_file_name

NAME = "deeporigin"
PLATFORM = "Deep Origin"  # as named in messages
APP_TAG = "jobfleet"  # the ``app`` tag on every execution we create
QUOTE_ONLY = -1  # approveAmount for "quote, do not run"; 0 would still run free quotes
DEFAULT_VERSION = "latest"  # the platform resolves it to the newest enabled version
V2_ACCEPT = "application/json;v=2.0"  # the v2 execution DTO, as the official client asks
FIND_PAGE_SIZE = 10  # one session tag matches one execution; room for strays if unfiltered
LIST_PAGE_SIZE = 1000  # the official client's page size; the platform allows up to 10,000

_REQUIRED = {"executionId": str, "status": str, "tool": Mapping}
_STATES = {
    "Quoted": RemoteState.QUOTED,
    "Created": RemoteState.PENDING,
    "Queued": RemoteState.PENDING,
    "Running": RemoteState.RUNNING,
    "Completed": RemoteState.SUCCEEDED,
    "Succeeded": RemoteState.SUCCEEDED,  # legacy spelling, still emitted by some tools
    "Failed": RemoteState.FAILED,
    "FailedQuotation": RemoteState.FAILED,
    "InsufficientFunds": RemoteState.FAILED,
    "Cancelled": RemoteState.CANCELLED,
}
_PARAM_KEYS = frozenset({"tool", "version", "inputs", "name", "metadata", "cluster_id"})
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


def reject(message: str) -> NoReturn:
    raise PermanentError(message, provider=NAME)


def bad(message: str, answer: Any) -> BadResponse:
    return bad_answer(NAME, message, answer)


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


def remote_status(record: Any) -> RemoteStatus:
    """Normalises an execution DTO; one we cannot read raises ``BadResponse`` quoting it."""
    return normalise_status(NAME, "execution", record, required=_REQUIRED, states=_STATES,
                            detail=lambda rec, _: status_reason(rec))


def status_reason(record: Mapping[str, Any]) -> str | None:
    """The platform's reason for a status, which may be a string or an object."""
    reason = record.get("statusReason")
    if not reason:
        return None
    if isinstance(reason, Mapping):
        text = reason.get("message") or reason.get("detail")
        code = reason.get("code")
        if isinstance(text, str):
            return f"{text} ({code})" if code else text
    return reason if isinstance(reason, str) else json.dumps(reason, default=str)


def quoted_price(record: Mapping[str, Any]) -> float | None:
    """Σ ``quotationResult.successfulQuotations[].priceTotal``; None without a readable quote."""
    quotation = record.get("quotationResult")
    quotes = quotation.get("successfulQuotations") if isinstance(quotation, Mapping) else None
    if not isinstance(quotes, list):
        return None
    prices = [q.get("priceTotal") if isinstance(q, Mapping) else None for q in quotes]
    if not all(isinstance(p, (int, float)) and not isinstance(p, bool) for p in prices):
        return None
    return float(sum(prices))


def output_file_keys(outputs: Any) -> list[str]:
    """File keys anywhere in ``jobOutputs``: strings under ``file_path`` or ``*_file_path``."""
    return list(dict.fromkeys(_walk_file_keys(outputs)))


def _walk_file_keys(node: Any) -> Iterator[str]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            if isinstance(value, str):
                if key == "file_path" or str(key).endswith("_file_path"):
                    yield value
            else:
                yield from _walk_file_keys(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk_file_keys(item)


def normalise_key(key: str) -> str:
    """A file key as the platform stores it: forward slashes, no leading or doubled ``/``."""
    parts = [p for p in key.replace("\\", "/").split("/") if p]
    if not parts or ".." in parts or "\x00" in key:
        reject(f"invalid file key {key!r}")
    return "/".join(parts)


def output_file_name(key: str) -> str:
    """The name an output file goes by on our side: the last part of its key.

    A key that climbs (``..``) or whose last part is no plain file name is an
    ``UnsafeAnswer``: it never reaches a path, and the job fails saying which key it was.
    """
    parts = key.replace("\\", "/").split("/")
    try:
        if ".." in parts:
            raise UnsafeName(f"unsafe output file key {key!r}: climbs out of its folder")
        return safe_file_name(parts[-1], "output file name")
    except UnsafeName as exc:
        raise UnsafeAnswer(str(exc), provider=NAME) from None


def tagged(row: Any, job_id: str) -> bool:
    """Whether a listed execution is the one we created for ``job_id``."""
    if not isinstance(row, Mapping):
        return False
    metadata = row.get("metadata")
    return row.get("session") == job_id or (
        isinstance(metadata, Mapping) and metadata.get("jobfleet_job_id") == job_id
    )


def upload_dir(sha256: str) -> str:
    return f"jobfleet/uploads/{sha256}"


def safe_name(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")
    return cleaned or "result"
