"""Platforms described by spec files: found in ``JOBFLEET_PROVIDERS_DIR`` at start-up.

Every ``*.toml`` file there is one API (read by :mod:`.loader` into the values of
:mod:`.spec`; the format is in the README's "Adding a platform"). The registry
(:mod:`worker.providers`) calls :func:`SPECS`, which makes each file a :class:`PlatformSpec`
like a platform package's; a bad file stops start-up with ``SpecError`` naming the file, the
field and the reason.
"""

from __future__ import annotations

import pkgutil
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from config.declarative import SpecSettings, providers_dir, spec_settings
from worker.providers.declarative.loader import SpecError, load_spec
from worker.providers.declarative.spec import ApiSpec

if TYPE_CHECKING:
    from worker.providers.spec import PlatformSpec

__all__ = ["SPECS", "ApiSpec", "SpecError", "load_specs", "platform_spec", "settings_for"]


def load_specs(directory: Path, reserved: Iterable[str] = ()) -> dict[str, ApiSpec]:
    """Every spec file in ``directory`` by name; ``reserved`` are the built-in platforms."""
    if not directory.is_dir():
        raise SpecError(f"{directory}: JOBFLEET_PROVIDERS_DIR is not a directory")
    other = sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml", ".json"))
    if other:  # a spec written in another format must not be silently left out
        raise SpecError(f"{other[0]}: spec files are TOML (*.toml); this one is not read")
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


def SPECS() -> list[PlatformSpec]:  # noqa: N802 - the registry's name for "specs made at run time"
    """One platform spec per file of ``JOBFLEET_PROVIDERS_DIR`` (none when it is unset)."""
    directory = providers_dir()
    if directory is None:
        return []
    return [platform_spec(api) for api in load_specs(directory, _package_names()).values()]


def platform_spec(api: ApiSpec) -> PlatformSpec:
    """``api`` as the registry's :class:`PlatformSpec`."""
    from worker.providers.declarative.platform import platform_spec as make

    return make(api)


def settings_for(spec: ApiSpec) -> SpecSettings:
    """The base URL and credential of ``spec``'s API, from the variables it names."""
    return spec_settings(spec.base_url_env, spec.base_url, spec.auth_env)


def _package_names() -> tuple[str, ...]:
    """The platform packages beside this one: their names are taken."""
    import worker.providers

    return tuple(m.name for m in pkgutil.iter_modules(worker.providers.__path__)
                 if m.ispkg and m.name != "declarative")
