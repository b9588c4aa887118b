"""Deep Origin: one kind, ``tool``, running one of the platform's tools.

The HTTP calls are in :mod:`.provider`; the params checked and the create body built in
:mod:`.params`, the platform's answers read in :mod:`.records`.
"""

from __future__ import annotations

from typing import Any

from worker.providers.base import Provider, setting, url_setting
from worker.providers.deeporigin.settings import DeepOriginSettings
from worker.providers.schema import Param, ParamsSchema
from worker.providers.spec import Capabilities, Endpoint, PlatformSpec

TOOL = ParamsSchema(
    (
        Param("tool", "string", required=True, aliases=("tool_key",),
              doc="the tool's key, e.g. deeporigin.docking"),
        Param("version", "string", aliases=("tool_version",), doc="default: latest"),
        Param("inputs", "object", required=True, doc="the tool's inputs"),
        Param("name", "string", nullable=True, doc="the execution's display name"),
        Param("metadata", "object", nullable=True, doc="kept on the execution"),
        Param("cluster_id", "string", nullable=True, aliases=("clusterId",),
              doc="default: the org's first cluster"),
    ),
    doc="one tool execution",
)


def endpoint(settings: DeepOriginSettings) -> Endpoint:
    """``DO_BASE_URL`` with ``DO_AUTH_TOKEN`` as a bearer token."""
    token = setting(settings.auth_token, "DO_AUTH_TOKEN", SPEC.title)
    return Endpoint(url_setting(settings.base_url, "DO_BASE_URL", SPEC.title),
                    {"Authorization": f"Bearer {token}"})


def build(settings: DeepOriginSettings, http: Any, **resources: Any) -> Provider:
    from worker.providers.deeporigin.provider import DeepOriginProvider

    return DeepOriginProvider(settings, http, **resources)


SPEC = PlatformSpec(
    name="deeporigin",
    title="Deep Origin",
    kinds={"tool": TOOL},
    settings=DeepOriginSettings,
    endpoint=endpoint,
    build=build,
    capabilities=Capabilities(cancel=True, find=True, uploads=True, bulk_list=True),
    env_prefix="DO_",
    doc="tool executions tagged with our job id; quotes confirmed within max_price",
)
