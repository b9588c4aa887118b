"""Provider registry: platform name → the class that speaks its API and its settings."""

from __future__ import annotations

import importlib
from typing import Any

from worker.providers.base import Provider

# name → (module, class, settings factory in config.settings)
REGISTRY: dict[str, tuple[str, str, str]] = {
    "deeporigin": ("worker.providers.deeporigin", "DeepOriginProvider", "deeporigin_settings"),
    "moderately": ("worker.providers.moderately", "ModeratelyProvider", "moderately_settings"),
    "openprotein": ("worker.providers.openprotein", "OpenProteinProvider", "openprotein_settings"),
}
PROVIDER_NAMES = tuple(REGISTRY)


def build_provider(name: str, **resources: Any) -> Provider:
    """Makes provider ``name`` from its settings (read from the environment) and the
    process's shared resources: ``session``, ``timeout_s``, ``retries``, ``redis``."""
    module_name, class_name, settings_name = REGISTRY[name]
    import config.settings

    cls = getattr(importlib.import_module(module_name), class_name)
    return cls(getattr(config.settings, settings_name)(), **resources)
