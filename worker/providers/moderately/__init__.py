"""Moderately AI: ``agent`` and ``pipeline`` executions, and file uploads.

Job params use the API's own field names; the official client's snake_case arguments are
accepted as aliases. The HTTP calls are in :mod:`.provider`, the request bodies built from
the params in :mod:`.params`, the readers of the platform's answers in :mod:`.records`.
"""

from __future__ import annotations

from typing import Any

from worker.providers.base import Provider, setting, url_setting
from worker.providers.moderately.settings import ModeratelySettings
from worker.providers.schema import Param, ParamsSchema
from worker.providers.spec import Capabilities, Endpoint, PlatformSpec

_AGENT_ID_HINT = ("the official client's agent_id names an agent, not what runs; give "
                  "params.agentConfigurationVersionId (the configuration version to run)")

AGENT = ParamsSchema(
    (
        Param("agentConfigurationVersionId", "string", required=True,
              aliases=("agent_configuration_version_id",), doc="the version to run"),
        Param("agentInput", "object", required=True, aliases=("agent_input", "input_data"),
              doc="the agent's input"),
        Param("agentInputSummary", "string", aliases=("agent_input_summary",),
              doc="1-500 characters; default names our job id"),
        Param("maxActions", "integer", aliases=("max_actions",), minimum=1, maximum=100),
        Param("planningInterval", "integer", aliases=("planning_interval",),
              minimum=1, maximum=50),
        Param("agentInputSchema", "any", aliases=("agent_input_schema",)),
        Param("agentOutputSchema", "any", aliases=("agent_output_schema",)),
    ),
    hints={"agent_id": _AGENT_ID_HINT, "agentId": _AGENT_ID_HINT},
    doc="one agent execution",
)
PIPELINE = ParamsSchema(
    (
        Param("pipelineConfigurationVersionId", "string", required=True,
              aliases=("pipeline_configuration_version_id",), doc="the version to run"),
        Param("pipelineInput", "object", required=True, aliases=("pipeline_input",),
              doc="the pipeline's input"),
        Param("pipelineInputSummary", "string", aliases=("pipeline_input_summary",),
              doc="at most 1,000 characters; default names our job id"),
        Param("totalSteps", "integer", aliases=("total_steps",), minimum=1),
    ),
    doc="one pipeline execution",
)


def endpoint(settings: ModeratelySettings) -> Endpoint:
    """``MODERATELY_BASE_URL`` with ``MODERATELY_API_KEY`` as a bearer token."""
    key = setting(settings.api_key, "MODERATELY_API_KEY", SPEC.title)
    return Endpoint(url_setting(settings.base_url, "MODERATELY_BASE_URL", SPEC.title),
                    {"Authorization": f"Bearer {key}"})


def build(settings: ModeratelySettings, http: Any, **resources: Any) -> Provider:
    from worker.providers.moderately.provider import ModeratelyProvider

    return ModeratelyProvider(settings, http, **resources)


SPEC = PlatformSpec(
    name="moderately",
    title="Moderately AI",
    kinds={"agent": AGENT, "pipeline": PIPELINE},
    settings=ModeratelySettings,
    endpoint=endpoint,
    build=build,
    capabilities=Capabilities(cancel=True, find=True, uploads=True, bulk_list=True),
    env_prefix="MODERATELY_",
    doc="executions found again by our job id in the input summary, else by payload",
)
