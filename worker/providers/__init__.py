"""The platform registry: every package under ``worker/providers/`` that exports a spec.

A platform package's ``__init__`` exports ``SPEC`` (one :class:`PlatformSpec`); a package
that makes several specs at run time (the declarative provider, one per spec file) exports
``SPECS``, a function returning them. Nothing else lists platforms: adding one is adding a
package. Discovery is lazy and cached, so importing this module stays cheap.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable, Mapping
from functools import cache
from typing import Any

from worker.providers.spec import Capabilities, Endpoint, PlatformSpec

__all__ = [
    "Capabilities",
    "Endpoint",
    "PlatformSpec",
    "UnknownProvider",
    "get_spec",
    "provider_names",
    "specs",
]


class UnknownProvider(KeyError):
    """No platform of that name; the message lists the known ones."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown provider"


@cache
def specs() -> Mapping[str, PlatformSpec]:
    """Every platform's spec by name, in name order (read once per process)."""
    found: dict[str, PlatformSpec] = {}
    for module in pkgutil.iter_modules(__path__):
        if not module.ispkg:
            continue
        package = importlib.import_module(f"{__name__}.{module.name}")
        for spec in _exported(package):
            if spec.name in found:
                raise ValueError(f"two platforms are named {spec.name!r}")
            found[spec.name] = spec
    return dict(sorted(found.items()))


def _exported(package: Any) -> Iterable[PlatformSpec]:
    single = getattr(package, "SPEC", None)
    many: Callable[[], Iterable[PlatformSpec]] | None = getattr(package, "SPECS", None)
    return ([single] if single is not None else []) + (list(many()) if many else [])


def provider_names() -> tuple[str, ...]:
    """The names job lines may use as ``provider``."""
    return tuple(specs())


def get_spec(name: str) -> PlatformSpec:
    """The spec of platform ``name``; ``UnknownProvider`` naming the known ones."""
    try:
        return specs()[name]
    except (KeyError, TypeError):
        known = ", ".join(specs())
        raise UnknownProvider(f"unknown provider {name!r} (known: {known})") from None
