"""Per-platform limit settings: the create pace's default, turning it off, and bad values
reported in one line that names the whole variable."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from config.settings import CREATE_RPS, limit_settings, settings_problem


@pytest.fixture(autouse=True)
def fresh_limits():
    limit_settings.cache_clear()
    yield
    limit_settings.cache_clear()


def test_creates_are_paced_by_default_and_nothing_else_is(monkeypatch):
    monkeypatch.delenv("JOBFLEET_DEEPORIGIN_CREATE_RPS", raising=False)
    monkeypatch.delenv("JOBFLEET_DEEPORIGIN_RPS", raising=False)
    limits = limit_settings("deeporigin")
    assert limits.create_rps == CREATE_RPS > 0
    assert limits.rps is None and limits.max_in_flight is None


def test_zero_turns_the_create_pace_off_for_that_platform_only(monkeypatch):
    monkeypatch.setenv("JOBFLEET_DEEPORIGIN_CREATE_RPS", "0")
    monkeypatch.delenv("JOBFLEET_MODERATELY_CREATE_RPS", raising=False)
    assert limit_settings("deeporigin").create_rps == 0
    assert limit_settings("moderately").create_rps == CREATE_RPS


@pytest.mark.parametrize(("variable", "value", "says"), [
    ("JOBFLEET_DEEPORIGIN_CREATE_RPS", "-5", "greater than or equal to 0"),
    ("JOBFLEET_DEEPORIGIN_CREATE_RPS", "fast", "a valid number"),
    ("JOBFLEET_DEEPORIGIN_RPS", "0", "greater than 0"),
])
def test_a_bad_value_is_one_line_naming_the_variable(monkeypatch, variable, value, says):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError) as err:
        limit_settings("deeporigin")
    line = settings_problem(err.value)
    assert line.startswith(f"{variable}={value!r} is invalid: Input should be {says}")
    assert "\n" not in line
