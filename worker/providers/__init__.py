"""Provider registry: platform name → the class that speaks its API and its settings."""

from __future__ import annotations

import importlib
from typing import Any

from pydantic_settings import BaseSettings

from worker.providers.base import Provider

# name → (module, class, settings factory in config.settings)
REGISTRY: dict[str, tuple[str, str, str]] = {
    "deeporigin": ("worker.providers.deeporigin", "DeepOriginProvider", "deeporigin_settings"),
    "moderately": ("worker.providers.moderately", "ModeratelyProvider", "moderately_settings"),
    "openprotein": ("worker.providers.openprotein", "OpenProteinProvider", "openprotein_settings"),
}
PROVIDER_NAMES = tuple(REGISTRY)


def provider_settings(name: str) -> BaseSettings:
    """The settings object of provider ``name``, read from the environment."""
    import config.settings

    return getattr(config.settings, REGISTRY[name][2])()


def build_provider(name: str, settings: BaseSettings, **resources: Any) -> Provider:
    """Makes provider ``name`` with its settings and the process's shared resources:
    ``session``, ``timeout_s``, ``retries``, ``redis``, ``throttle``."""
    module_name, class_name, _ = REGISTRY[name]
    cls = getattr(importlib.import_module(module_name), class_name)
    return cls(settings, **resources)
