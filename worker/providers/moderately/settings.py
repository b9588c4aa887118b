"""Moderately AI's settings, with the official client's variable names (``MODERATELY_*``)."""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_BASE_URL = "https://api.moderately.ai"  # the official client's default


class ModeratelySettings(BaseSettings):
    """``MODERATELY_BASE_URL``, ``MODERATELY_API_KEY``, ``MODERATELY_TEAM_ID``."""

    model_config = SettingsConfigDict(env_prefix="MODERATELY_", extra="ignore")

    base_url: str = DEFAULT_BASE_URL
    api_key: SecretStr | None = None
    team_id: str | None = None
