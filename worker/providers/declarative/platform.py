"""A spec file's API as a :class:`~worker.providers.spec.PlatformSpec`, like any platform's.

The registry, job-file validation, the runtime (one pooled HTTP client behind the fleet's
throttle for the credential) and the fleet's guarantees then treat it as they treat the
platform packages: nothing downstream knows the platform came from a file.
"""

from __future__ import annotations

from typing import Any

from worker.providers.declarative.spec import ApiSpec
from worker.providers.schema import Param, ParamsSchema
from worker.providers.spec import Capabilities, Endpoint, PlatformSpec


def platform_spec(api: ApiSpec) -> PlatformSpec:
    """The platform spec of one spec file: its kinds and params, capabilities, settings
    (the variables the file names) and a builder for :class:`DeclarativeProvider`."""
    from worker.providers.declarative import settings_for

    made: list[PlatformSpec] = []

    def endpoint(settings: Any) -> Endpoint:
        from worker.providers.declarative.provider import endpoint as read_endpoint

        base_url, headers = read_endpoint(api, settings)
        return Endpoint(base_url, headers)

    def build(settings: Any, http: Any, **resources: Any):
        from worker.providers.declarative.provider import DeclarativeProvider

        return DeclarativeProvider(api, http, platform=made[0], **resources)

    listing = api.listing
    spec = PlatformSpec(
        name=api.name,
        title=api.name,
        kinds={kind: _schema(kind, params) for kind, params in api.kinds.items()},
        settings=lambda: settings_for(api),
        endpoint=endpoint,
        build=build,
        capabilities=Capabilities(
            cancel=api.cancel is not None, find=api.supports_find, uploads=False,
            bulk_list=listing is not None and listing.ids_param is not None),
        env_prefix="",
        doc=f"described by {api.file.name} (at most once by {api.create.at_most_once})",
    )
    made.append(spec)
    return spec


def _schema(kind: str, params: Any) -> ParamsSchema:
    return ParamsSchema(tuple(Param(name, rule.type, required=rule.required)
                              for name, rule in params.items()), doc=f"a {kind}")
