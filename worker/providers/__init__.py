"""Provider registry: platform name → the class that speaks its API."""

from __future__ import annotations

from worker.providers.base import Provider

PROVIDER_NAMES = ("deeporigin",)  # producers keep their own copy of known names and kinds


def build_provider(name: str, *, session, timeout_s: float, retries: int) -> Provider:
    """Makes the provider ``name`` with its settings read from the environment."""
    if name == "deeporigin":
        from config.settings import deeporigin_settings
        from worker.providers.deeporigin import DeepOriginProvider

        return DeepOriginProvider(
            deeporigin_settings(), session=session, timeout_s=timeout_s, retries=retries
        )
    raise KeyError(f"unknown provider {name!r}")
