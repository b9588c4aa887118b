"""Deep Origin's settings, with the official client's variable names (``DO_*``), so a
machine already set up for the official client works unchanged."""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_BASE_URL = "https://api.deeporigin.io"  # the official client's default


class DeepOriginSettings(BaseSettings):
    """``DO_BASE_URL``, ``DO_AUTH_TOKEN``, ``DO_ORG_KEY``, ``DO_PROJECT_ID``."""

    model_config = SettingsConfigDict(env_prefix="DO_", extra="ignore")

    base_url: str = DEFAULT_BASE_URL
    auth_token: SecretStr | None = None
    org_key: str | None = None
    project_id: str | None = None
