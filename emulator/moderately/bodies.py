"""Create bodies and list filters, checked the way the OpenAPI document states them.

Each function returns the fields an `Execution` is built from, or raises `BadRequest`
naming the offending key (it goes into the 400's `error.details`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from emulator.moderately.wire import BadRequest, Limits, derived_id, query_values, text_field

AGENT_SUMMARY_MAX = 500
PIPELINE_SUMMARY_MAX = 1000
# The official client's create sends no summary; the real server requires one.
DEFAULT_AGENT_SUMMARY = "Agent execution"
MAX_ACTIONS = Limits(1, 100)
PLANNING_INTERVAL = Limits(1, 50)
CURRENT_STEP = Limits(0)
TOTAL_STEPS = Limits(1)


def _object(body: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    """The first of `keys` present, which must be an object; `{}` when none is."""
    for key in keys:
        if key in body and body[key] is not None:
            if not isinstance(body[key], dict):
                raise BadRequest(f"{key} must be an object", key)
            return body[key]
    return {}


def agent_fields(body: dict[str, Any]) -> dict[str, Any]:
    """Agent create, OpenAPI form or the official client's `agent_id`/`input_data` form."""
    agent_id = text_field(body, "agent_id", low=1)
    config = text_field(body, "agentConfigurationVersionId", low=1)
    if config is None and agent_id is None:
        raise BadRequest("agentConfigurationVersionId is required", "agentConfigurationVersionId")
    summary = text_field(body, "agentInputSummary", low=1, high=AGENT_SUMMARY_MAX)
    MAX_ACTIONS.check(body, "maxActions")
    PLANNING_INTERVAL.check(body, "planningInterval")
    return {
        "config_version_id": config or derived_id(f"agent:{agent_id}"),
        "agent_id": agent_id,
        "input": _object(body, "agentInput", "input_data"),
        "summary": summary or DEFAULT_AGENT_SUMMARY,
        "body": body,
    }


def pipeline_fields(body: dict[str, Any]) -> dict[str, Any]:
    """Pipeline create: configuration version, input object and a summary of <= 1,000."""
    config = text_field(body, "pipelineConfigurationVersionId", low=1)
    if config is None:
        raise BadRequest(
            "pipelineConfigurationVersionId is required", "pipelineConfigurationVersionId"
        )
    if not isinstance(body.get("pipelineInput"), dict):
        raise BadRequest("pipelineInput is required and must be an object", "pipelineInput")
    summary = text_field(body, "pipelineInputSummary", high=PIPELINE_SUMMARY_MAX)
    if summary is None:
        raise BadRequest("pipelineInputSummary is required", "pipelineInputSummary")
    CURRENT_STEP.check(body, "currentStep")
    TOTAL_STEPS.check(body, "totalSteps")
    return {
        "config_version_id": config,
        "input": body["pipelineInput"],
        "summary": summary,
        "body": body,
    }


def pipeline_filters(query: Mapping[str, str]) -> dict[str, set[str]]:
    """Id filters of the pipeline-execution list; `pipelineIds` cannot be honoured here."""
    if query_values(query, "pipelineIds"):
        raise BadRequest(
            "pipelineIds is not emulated (no pipeline catalogue); filter by "
            "pipelineConfigurationVersionIds",
            "pipelineIds",
        )
    return {
        "id": query_values(query, "pipelineExecutionIds"),
        "config": query_values(query, "pipelineConfigurationVersionIds"),
    }


def agent_filters(query: Mapping[str, str]) -> dict[str, set[str]]:
    """Id filters of the agent-execution list (`agent_id` is what the official client sends)."""
    return {
        "id": query_values(query, "agentExecutionIds"),
        "agent": query_values(query, "agentIds", "agent_id"),
        "config": query_values(query, "agentConfigurationVersionIds"),
    }
