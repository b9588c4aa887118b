"""Job params for Moderately AI and the request bodies built from them (pure, no HTTP).

A job line's ``params`` use the API's own field names, so what a user writes is what the
platform receives (the server's OpenAPI document)::

    kind "agent":    {"agentConfigurationVersionId": "...", "agentInput": {...},
                      "agentInputSummary"?: "1-500 chars", "maxActions"?: 1-100,
                      "planningInterval"?: 1-50, "agentInputSchema"?: any,
                      "agentOutputSchema"?: any}
    kind "pipeline": {"pipelineConfigurationVersionId": "...", "pipelineInput": {...},
                      "pipelineInputSummary"?: "<= 1,000 chars", "totalSteps"?: >= 1}

The platform requires a summary, and the summary is the only free-text field an execution
echoes back, so it carries our job id: ``jobfleet job <job id>`` when the params give none,
else the caller's summary with `` [jobfleet <job id>]`` appended when that fits the limit
(500 characters for agents, 1,000 for pipelines). A summary too long for the marker is sent
as given; such a job can be found again only by comparing inputs (see
:mod:`~worker.providers.moderately.search`). Everything the platform
documents as a limit is checked here, before any request, so a bad job fails at once with a
message naming the field instead of with the platform's generic 400.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
from collections.abc import Mapping
from typing import Any, NoReturn

from worker.errors import PermanentError
from worker.providers.moderately import AGENT as AGENT_SCHEMA
from worker.providers.moderately import PIPELINE as PIPELINE_SCHEMA
from worker.providers.types import JobSpec

NAME = "moderately"
PLATFORM = "Moderately AI"  # as named in messages
AGENT, PIPELINE = "agent", "pipeline"
EXECUTION_PATHS = {AGENT: "/agent-executions", PIPELINE: "/pipeline-executions"}
EXECUTION_PAGE_SIZE = 100  # the largest page both execution lists take (agents: 1-100)
AGENT_SUMMARY_MAX = 500  # agentInputSummary: 1-500 characters
PIPELINE_SUMMARY_MAX = 1000  # pipelineInputSummary: at most 1,000 characters
FILE_NAME_MAX = 1000  # fileName: 1-1,000 characters
DEFAULT_MIME = "application/octet-stream"  # what the official client sends for unknown types
_RANGES = {  # the documented ranges, as declared in the spec
    p.name: (p.minimum, p.maximum)
    for p in AGENT_SCHEMA.params + PIPELINE_SCHEMA.params if p.minimum is not None
}
_AGENT_KEYS = AGENT_SCHEMA.names
_PIPELINE_KEYS = PIPELINE_SCHEMA.names


class InvalidParams(PermanentError):
    """A job's params break a rule the platform documents; raised before any request."""


def _reject(message: str) -> NoReturn:
    raise InvalidParams(message, provider=NAME)


def _params(job: JobSpec, allowed: frozenset[str]) -> Mapping[str, Any]:
    params = job.params
    if not isinstance(params, Mapping):
        _reject("params must be an object")
    if unknown := sorted(map(str, set(params) - allowed)):
        _reject(f"unknown params for a {job.kind} job: {', '.join(unknown)}")
    return params


def _id(params: Mapping[str, Any], key: str) -> str:
    value = params.get(key)
    if not isinstance(value, str) or not value.strip():
        _reject(f"params.{key} is required: the id of the configuration version to run")
    return value


def _input(params: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = params.get(key)
    if not isinstance(value, Mapping):
        _reject(f"params.{key} is required and must be an object")
    return dict(value)


def default_summary(job_id: str) -> str:
    """The summary sent when the params give none: our job id, readable in the web app."""
    return f"jobfleet job {job_id}"


def job_marker(job_id: str) -> str:
    """What is appended to a caller's summary so the execution names our job."""
    return f" [jobfleet {job_id}]"


def carries_job_id(summary: Any, job_id: str) -> bool:
    """Whether an execution's summary names ``job_id`` the way :func:`_summary` writes it."""
    return isinstance(summary, str) and (
        summary == default_summary(job_id) or summary.endswith(job_marker(job_id))
    )


def marked_job_id(summary: Any) -> str | None:
    """The job id a summary names the way :func:`_summary` writes it, or None."""
    if not isinstance(summary, str):
        return None
    default = default_summary("")
    if summary.startswith(default) and " " not in summary[len(default):]:
        job_id = summary[len(default):]
    else:
        head, sep, tail = summary.rpartition(job_marker("").rstrip("]"))
        job_id = tail[:-1] if sep and tail.endswith("]") else ""
    return job_id if job_id and carries_job_id(summary, job_id) else None


def _summary(params: Mapping[str, Any], key: str, limit: int, job_id: str) -> str:
    """The caller's summary (checked against ``limit``) marked with our job id if it fits;
    our default when there is none."""
    value = params.get(key)
    if value is None:
        return default_summary(job_id)[:limit]
    if not isinstance(value, str) or not value:
        _reject(f"params.{key} must be a non-empty string")
    if len(value) > limit:
        _reject(f"params.{key} is {len(value):,} characters; Moderately allows at most {limit:,}")
    marked = value + job_marker(job_id)
    return marked if len(marked) <= limit else value


def _integer(params: Mapping[str, Any], key: str) -> int | None:
    value = params.get(key)
    if value is None:
        return None
    low, high = _RANGES[key]
    if isinstance(value, bool) or not isinstance(value, int):
        _reject(f"params.{key} must be an integer")
    if value < low or (high is not None and value > high):
        _reject(f"params.{key} must be between {low} and {high or 'any'}, got {value}")
    return value


def _plain_json(body: dict[str, Any]) -> dict[str, Any]:
    try:
        json.dumps(body, allow_nan=False)
    except (TypeError, ValueError) as exc:
        _reject(f"params must be plain JSON: {exc}")
    return body


def agent_body(job: JobSpec) -> dict[str, Any]:
    """The ``POST /agent-executions`` body of an ``agent`` job (the OpenAPI form)."""
    params = _params(job, _AGENT_KEYS)
    body: dict[str, Any] = {
        "agentConfigurationVersionId": _id(params, "agentConfigurationVersionId"),
        "agentInput": _input(params, "agentInput"),
        "agentInputSummary": _summary(params, "agentInputSummary", AGENT_SUMMARY_MAX, job.job_id),
    }
    for key in ("maxActions", "planningInterval"):
        if (value := _integer(params, key)) is not None:
            body[key] = value
    for key in ("agentInputSchema", "agentOutputSchema"):
        if key in params:
            body[key] = params[key]
    return _plain_json(body)


def pipeline_body(job: JobSpec) -> dict[str, Any]:
    """The ``POST /pipeline-executions`` body of a ``pipeline`` job."""
    params = _params(job, _PIPELINE_KEYS)
    body: dict[str, Any] = {
        "pipelineConfigurationVersionId": _id(params, "pipelineConfigurationVersionId"),
        "pipelineInput": _input(params, "pipelineInput"),
        "pipelineInputSummary": _summary(
            params, "pipelineInputSummary", PIPELINE_SUMMARY_MAX, job.job_id
        ),
    }
    if (steps := _integer(params, "totalSteps")) is not None:
        body["totalSteps"] = steps
    return _plain_json(body)


def create_request(job: JobSpec) -> tuple[str, dict[str, Any]]:
    """``(path, body)`` that creates ``job``'s execution; raises ``InvalidParams``.

    A ``max_price`` is refused: the platform quotes no prices, so a ceiling could not hold.
    """
    if job.max_price is not None:
        _reject("moderately quotes no prices, so max_price cannot be enforced; remove it")
    if job.kind == AGENT:
        return EXECUTION_PATHS[AGENT], agent_body(job)
    if job.kind == PIPELINE:
        return EXECUTION_PATHS[PIPELINE], pipeline_body(job)
    _reject(f"unsupported job kind {job.kind!r}; moderately runs 'agent' and 'pipeline' jobs")


def upload_request(name: str, data: bytes, sha256: str, team_id: str) -> dict[str, Any]:
    """The ``POST /files/upload-url`` body; the MIME type is guessed from the name.

    Raises ``InvalidParams`` when ``sha256`` is not that of ``data`` (a caller's bug that
    the platform would only catch after the upload) or the name is empty or too long.
    """
    sha256 = sha256.lower()
    if hashlib.sha256(data).hexdigest() != sha256:
        _reject(f"the sha256 given for {name!r} is not that of its bytes")
    if not 1 <= len(name) <= FILE_NAME_MAX:
        _reject(f"a file name must be 1-{FILE_NAME_MAX} characters")
    return {
        "fileName": name,
        "fileSize": len(data),
        "fileHash": sha256,
        "mimeType": mimetypes.guess_type(name)[0] or DEFAULT_MIME,
        "teamId": team_id,
    }


def complete_request(upload: Mapping[str, Any]) -> dict[str, Any]:
    """The ``POST /files/{id}/complete`` body: the size and SHA-256 the upload declared."""
    return {"fileSize": upload["fileSize"], "fileHash": upload["fileHash"]}
