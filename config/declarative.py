"""Settings of the declarative provider: where spec files live, and each spec's variables.

A spec file names the environment variables of its API (base URL, credential); they are
read here, like every other setting, and the credential becomes a ``SecretStr`` at once.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ProvidersDirSettings(BaseSettings):
    """``JOBFLEET_PROVIDERS_DIR``: a directory of spec files (``*.toml``); unset means none."""

    model_config = SettingsConfigDict(env_prefix="JOBFLEET_", extra="ignore")

    providers_dir: Path | None = None


class SpecSettings(BaseModel):
    """One spec'd API's base URL and credential, read from the variables its spec names."""

    base_url: str | None = None
    secret: SecretStr | None = None


def providers_dir() -> Path | None:
    """The configured spec directory, if any."""
    return ProvidersDirSettings().providers_dir


def spec_settings(base_url_env: str, default_url: str | None, secret_env: str) -> SpecSettings:
    """The base URL (the spec's default when its variable is unset) and the credential."""
    secret = os.environ.get(secret_env)
    return SpecSettings(base_url=os.environ.get(base_url_env) or default_url,
                        secret=SecretStr(secret) if secret else None)
