"""OpenProtein.AI's settings, with the official client's variable names (``OPENPROTEIN_*``)."""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_BACKEND = "https://api.openprotein.ai/api/"  # the official client's default


class OpenProteinSettings(BaseSettings):
    """``OPENPROTEIN_API_BACKEND``, ``OPENPROTEIN_USERNAME``, ``OPENPROTEIN_PASSWORD``."""

    model_config = SettingsConfigDict(env_prefix="OPENPROTEIN_", extra="ignore")

    api_backend: str = DEFAULT_BACKEND
    username: str | None = None
    password: SecretStr | None = None
