"""Platforms described by spec files: found in ``JOBFLEET_PROVIDERS_DIR`` at start-up.

Every ``*.toml`` file there is one API (see :mod:`.spec` and the README's "Adding a
platform"). :func:`declared_specs` loads them once per process; a bad file stops start-up
with ``SpecError`` naming the file, the field and the reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from config.declarative import SpecSettings, providers_dir, spec_settings
from worker.providers.declarative.spec import ApiSpec, SpecError, load_spec

__all__ = ["ApiSpec", "SpecError", "build", "declared_specs", "load_specs", "settings_for"]


def load_specs(directory: Path, reserved: Iterable[str] = ()) -> dict[str, ApiSpec]:
    """Every spec file in ``directory`` by name; ``reserved`` are the built-in platforms."""
    if not directory.is_dir():
        raise SpecError(f"{directory}: JOBFLEET_PROVIDERS_DIR is not a directory")
    taken = set(reserved)
    specs: dict[str, ApiSpec] = {}
    for path in sorted(directory.glob("*.toml")):
        spec = load_spec(path)
        if spec.name in taken:
            first = specs[spec.name].file.name if spec.name in specs else "a built-in platform"
            raise SpecError(f"{path}: name: {spec.name!r} is already taken by {first}")
        taken.add(spec.name)
        specs[spec.name] = spec
    return specs


@cache
def declared_specs(reserved: tuple[str, ...] = ()) -> dict[str, ApiSpec]:
    """The specs of ``JOBFLEET_PROVIDERS_DIR`` (none when unset), loaded once per process."""
    directory = providers_dir()
    return {} if directory is None else load_specs(directory, reserved)


def settings_for(spec: ApiSpec) -> SpecSettings:
    """The base URL and credential of ``spec``'s API, from the variables it names."""
    return spec_settings(spec.base_url_env, spec.base_url, spec.auth_env)


def build(spec: ApiSpec, settings: SpecSettings, **resources: Any):
    """The provider for ``spec`` with an HTTP client of its own built from ``resources``
    (imported here: the loader needs no HTTP machinery)."""
    from worker.providers.declarative.provider import DeclarativeProvider, endpoint
    from worker.providers.http import HttpClient

    base_url, headers = endpoint(spec, settings)
    options = {k: resources.pop(k) for k in ("timeout_s", "retries", "session", "sleep",
                                              "before_request", "throttle") if k in resources}
    http = HttpClient(spec.name, base_url, headers=headers, **options)
    return DeclarativeProvider(spec, http, **resources)
