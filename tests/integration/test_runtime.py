"""What one worker process holds, built from the environment: providers, the remembered
refusal of a credential, the policy and the in-flight limit."""

from __future__ import annotations

import pytest

from worker.errors import AuthError, ConfigError

pytestmark = pytest.mark.integration
pytest_plugins = ["tests.fixtures.burst"]


def test_a_refused_credential_is_remembered_so_every_job_fails_at_once(burst):
    rt = burst.rt
    assert rt.provider("deeporigin").name == "deeporigin"
    rt.remember_auth_failure("deeporigin", AuthError("token expired", provider="deeporigin",
                                                     status=401))
    with pytest.raises(AuthError, match="token expired .*remembered"):
        rt.provider("deeporigin")
    assert rt.provider("moderately").name == "moderately"  # other platforms are unaffected


def test_an_unknown_provider_is_a_config_error(burst):
    with pytest.raises(ConfigError, match="unknown provider 'nowhere'"):
        burst.rt.provider("nowhere")


def test_the_policy_and_limits_come_from_the_settings(make_burst):
    rt = make_burst(JOBFLEET_MAX_STEP_ERRORS="4", JOBFLEET_MODERATELY_MAX_IN_FLIGHT="3").rt
    assert (rt.policy.max_step_errors, rt.policy.lease_s) == (4, 6.0)
    assert rt.policy.poll.initial_s == 0.3
    assert rt.in_flight.room("moderately") == 3
    assert rt.in_flight.room("deeporigin") is None
