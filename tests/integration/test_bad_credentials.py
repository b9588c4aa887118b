"""Wrong credentials fail fast with the platform's reason: no retry storm, nothing leaked."""

from __future__ import annotations

import pytest

from emulator.tokens import make_jwt
from tests.fixtures.fleet import private_fleet, wait_done

pytestmark = pytest.mark.integration
BAD_TOKEN = "not-a-jwt-but-secret-looking-0123456789"


@pytest.fixture(scope="module")
def bad_fleet(emulator, tmp_path_factory):
    """A fleet of its own whose Deep Origin token the platform refuses."""
    with private_fleet(emulator, tmp_path_factory.mktemp("bad-fleet"),
                       DO_AUTH_TOKEN=BAD_TOKEN) as fleet:
        yield fleet


def test_a_refused_token_fails_every_job_at_once_with_the_reason(bad_fleet, emulator):
    fleet, pool = bad_fleet
    before = emulator.stats()["deeporigin"]["requests"]
    jobs = [{"key": f"k{i}", "provider": "deeporigin", "kind": "tool",
             "params": {"tool": "deeporigin.docking", "inputs": {}}} for i in range(20)]
    batch = fleet.enqueue_batch(jobs, batch="bad-credentials")
    status = wait_done(fleet, batch, timeout_s=30)
    assert status["states"]["failed"] == 20
    lines = list(fleet.results(batch))
    assert {line["reason"] for line in lines} == {"auth"}
    assert all("HTTP 401" in line["error"] for line in lines)
    assert all("not a JWT" in line["error"] for line in lines)
    asked = emulator.stats()["deeporigin"]["requests"] - before
    assert 1 <= asked <= 4, f"{asked} requests for 20 jobs: each job asked the platform again"
    assert BAD_TOKEN not in "".join(line["error"] for line in lines)
    assert BAD_TOKEN not in pool.logs()


def test_an_expired_token_fails_fast_with_the_reason(emulator, tmp_path):
    expired = make_jwt({"sub": "someone"}, ttl_s=-60)
    jobs = [{"key": f"e{i}", "provider": "deeporigin", "kind": "tool",
             "params": {"tool": "deeporigin.docking", "inputs": {}}} for i in range(5)]
    with private_fleet(emulator, tmp_path, DO_AUTH_TOKEN=expired) as (fleet, pool):
        batch = fleet.enqueue_batch(jobs, batch="expired-token")
        wait_done(fleet, batch, timeout_s=30)
        lines = list(fleet.results(batch))
        logs = pool.logs()
    assert {(line["state"], line["reason"]) for line in lines} == {("failed", "auth")}
    assert all("HTTP 401" in line["error"] and "token expired" in line["error"]
               for line in lines)
    assert expired not in logs and all(expired not in line["error"] for line in lines)
