"""OpenProteinProvider refuses to start without what it needs, naming the variable."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from worker.errors import ConfigError
from worker.providers.openprotein import SPEC
from worker.providers.openprotein.settings import OpenProteinSettings

BACKEND = "http://127.0.0.1:9/openprotein/"


def settings(**values) -> OpenProteinSettings:
    base = {"api_backend": BACKEND, "username": "fleet", "password": SecretStr("pw")}
    return OpenProteinSettings(**(base | values))


@pytest.mark.parametrize(
    ("values", "variable"),
    [
        ({"username": None}, "OPENPROTEIN_USERNAME"),
        ({"username": ""}, "OPENPROTEIN_USERNAME"),
        ({"password": None}, "OPENPROTEIN_PASSWORD"),
        ({"password": SecretStr("")}, "OPENPROTEIN_PASSWORD"),
        ({"api_backend": "ftp://example.org/api/"}, "OPENPROTEIN_API_BACKEND"),
    ],
)
def test_a_missing_or_bad_setting_is_a_config_error_naming_it(values, variable):
    with pytest.raises(ConfigError, match=variable):
        SPEC.make(settings(**values), redis=object())


def test_the_shared_token_needs_redis():
    with pytest.raises(ConfigError, match="Redis"):
        SPEC.make(settings(), redis=None)


def test_the_password_never_appears_in_a_config_error():
    with pytest.raises(ConfigError) as caught:
        SPEC.make(settings(username=None, password=SecretStr("hunter2")),
                  redis=object())
    assert "hunter2" not in str(caught.value)
