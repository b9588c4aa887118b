"""A platform answering garbage or hanging: bounded retries, then the job fails with the raw
detail, and the worker goes on with other work."""

from __future__ import annotations

import pytest

from tests.fixtures.fleet import private_fleet, wait_done

pytestmark = pytest.mark.integration

# Few attempts and short timeouts, so giving up takes seconds.
TIGHT = {"JOBFLEET_MAX_STEP_ERRORS": "3", "JOBFLEET_HTTP_RETRIES": "0",
         "JOBFLEET_HTTP_TIMEOUT_S": "1", "JOBFLEET_POLL_CAP_S": "0.5"}


@pytest.fixture(scope="module")
def tight_fleet(private_emulator, tmp_path_factory):
    with private_fleet(private_emulator, tmp_path_factory.mktemp("tight"), **TIGHT) as fleet:
        yield fleet


@pytest.fixture
def platform(private_emulator):
    private_emulator.restore_defaults()
    yield private_emulator
    private_emulator.restore_defaults()


def job(key: str, duration_s: float = 0.2) -> dict:
    return {"key": key, "provider": "deeporigin", "kind": "tool",
            "params": {"tool": "deeporigin.docking",
                       "inputs": {"_emulator": {"duration_s": duration_s}}}}


def by_key(fleet, batch):
    return {line["key"]: line for line in fleet.results(batch)}


def test_garbage_answers_fail_the_job_with_the_raw_body_after_bounded_retries(
    tight_fleet, platform
):
    fleet, _ = tight_fleet
    platform.configure("deeporigin", fault_garbage=1.0)
    batch = fleet.enqueue_batch([job("garbled")], batch="garbage")
    wait_done(fleet, batch, timeout_s=40)
    line = by_key(fleet, batch)["garbled"]
    assert (line["state"], line["reason"]) == ("failed", "bad_response")
    assert line["error"].startswith("gave up after 3 attempts to submit: deeporigin HTTP 200: ")
    assert "expected a JSON body" in line["error"]


def test_a_hanging_platform_times_out_and_fails_the_job_with_the_reason(tight_fleet, platform):
    fleet, _ = tight_fleet
    platform.configure("deeporigin", fault_slow=1.0, slow_s=5)
    batch = fleet.enqueue_batch([job("hung")], batch="hanging")
    wait_done(fleet, batch, timeout_s=40)
    line = by_key(fleet, batch)["hung"]
    assert (line["state"], line["reason"]) == ("failed", "transient")
    assert line["error"].startswith("gave up after 3 attempts to submit: deeporigin: ")
    assert "timed out" in line["error"]


def test_the_worker_keeps_going_after_a_job_fails_on_garbage(tight_fleet, platform):
    fleet, _ = tight_fleet
    platform.configure("deeporigin", fault_garbage=1.0)
    doomed = fleet.enqueue_batch([job("doomed")], batch="doomed")
    wait_done(fleet, doomed, timeout_s=40)
    platform.restore_defaults()
    healthy = fleet.enqueue_batch([job(f"after-{i}") for i in range(5)], batch="healthy")
    assert wait_done(fleet, healthy, timeout_s=30)["states"]["succeeded"] == 5
