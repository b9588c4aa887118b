"""DeepOriginProvider against the emulator over real HTTP: lifecycle, quotes, recovery, faults.

Plain flows use the shared ``emulator`` with job ids of their own. Tests that change fault
settings or count requests use ``fresh_emulator`` (this module's own process, reset per test).
Faults are scripted, not drawn at random: the provider's ``before_request`` hook applies the
next emulator setting before each attempt, so "two 503s, then an answer" is exact.

Run with the fixtures plugin: ``pytest -p tests.fixtures.emulator <this file>``.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest

from emulator.control import EmulatorControl
from emulator.tokens import make_jwt
from tests.fixtures.providers import ScriptedOutage, wait_terminal
from worker.errors import AuthError, BadResponse, OverBudget, RateLimited, TransientError
from worker.providers.deeporigin import SPEC
from worker.providers.deeporigin.provider import DeepOriginProvider
from worker.providers.deeporigin.settings import DeepOriginSettings
from worker.providers.types import JobSpec, RemoteState, RemoteStatus, Watched

pytestmark = pytest.mark.integration

TOOL = "deeporigin.docking"
FAST = {"duration_s": 0.2, "queue_s": 0.05}  # a job that is done in a quarter of a second
LONG = {"duration_s": 60.0, "queue_s": 0.0}  # a job that outlives its test


def make_provider(
    control: EmulatorControl, token: str | None = None, **kwargs
) -> DeepOriginProvider:
    settings = DeepOriginSettings(
        base_url=control.base_url("deeporigin"),
        auth_token=token or make_jwt(),
        org_key="acme",
        project_id="proj-1",
    )
    return SPEC.make(settings, timeout_s=5.0, **kwargs)


def tool_job(emulate: dict[str, Any], max_price: float | None = None, **params) -> JobSpec:
    inputs = {"ligand": "c1ccccc1", "_emulator": emulate}
    params = {"tool": TOOL, "inputs": inputs} | params
    return JobSpec(job_id=f"job-{uuid.uuid4()}", kind="tool", params=params, max_price=max_price)


@pytest.fixture
def provider(emulator: EmulatorControl):
    made = make_provider(emulator)
    yield made
    made.close()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def outage(fresh_emulator: EmulatorControl) -> ScriptedOutage:
    return ScriptedOutage(fresh_emulator, "deeporigin")


@pytest.fixture
def flaky_provider(fresh_emulator: EmulatorControl, outage: ScriptedOutage, sleeps: list[float]):
    made = make_provider(fresh_emulator, before_request=outage, sleep=sleeps.append, retries=2)
    yield made
    made.close()


def endpoint_count(control: EmulatorControl, label: str) -> int:
    return control.provider_stats("deeporigin")["requests_by_endpoint"].get(label, 0)


GET_ONE = "GET /tools/{org}/tools/executions/{execution_id}"


def test_a_tool_job_runs_to_success_and_its_output_files_are_downloaded(provider):
    submission = provider.submit(tool_job(FAST))
    assert submission.status.state in (RemoteState.PENDING, RemoteState.RUNNING)
    final = wait_terminal(provider, submission.remote_id, "tool")
    assert final.state is RemoteState.SUCCEEDED and final.raw == "Completed"
    outputs = provider.fetch_outputs(submission.remote_id, "tool", final)
    key = f"tool-runs/{submission.remote_id}/result.json"
    assert outputs.data["result_file"]["file_path"] == key
    assert set(outputs.files) == {"result.json"}
    document = json.loads(outputs.files["result.json"])
    assert document["executionId"] == submission.remote_id
    assert document["score"] == outputs.data["result"]["score"]
    assert outputs.data["executionId"] == submission.remote_id
    assert outputs.data["tool"]["key"] == TOOL and outputs.data["cost"] == 1.0


def test_outputs_are_fetched_even_when_the_status_record_is_not_at_hand(provider):
    submission = provider.submit(tool_job(FAST))
    wait_terminal(provider, submission.remote_id, "tool")
    bare = RemoteStatus(state=RemoteState.SUCCEEDED, raw="Completed")
    outputs = provider.fetch_outputs(submission.remote_id, "tool", bare)
    assert "result" in outputs.data and len(outputs.files) == 1


def test_a_remote_failure_is_reported_with_the_platforms_reason(provider):
    failing = {**FAST, "outcome": "failed", "reason": "ligand could not be protonated"}
    submission = provider.submit(tool_job(failing))
    final = wait_terminal(provider, submission.remote_id, "tool")
    assert final.state is RemoteState.FAILED
    assert final.detail == "ligand could not be protonated"


def test_a_quote_within_the_ceiling_is_confirmed_and_runs(provider, emulator):
    submission = provider.submit(tool_job({**FAST, "price": 2.5}, max_price=3.0))
    assert submission.status.state in (RemoteState.PENDING, RemoteState.RUNNING)
    assert emulator.job("deeporigin", submission.remote_id)["price"] == 2.5
    assert wait_terminal(provider, submission.remote_id, "tool").state is RemoteState.SUCCEEDED


def test_a_quote_over_the_ceiling_raises_over_budget_and_stays_quoted(provider):
    with pytest.raises(OverBudget) as caught:
        provider.submit(tool_job({**FAST, "price": 7.5}, max_price=3.0))
    assert (caught.value.price, caught.value.ceiling) == (7.5, 3.0)
    status = provider.status(caught.value.remote_id, "tool")
    assert status.state is RemoteState.QUOTED and status.raw == "Quoted"


def test_a_job_is_found_by_its_job_id_and_an_unknown_one_is_not(provider):
    job = tool_job(FAST)
    created = provider.submit(job)
    found = provider.find(job)
    assert found is not None and found.remote_id == created.remote_id
    assert provider.find(tool_job(FAST)) is None


def test_a_found_quote_goes_through_the_same_ceiling_check(provider):
    job = tool_job({**FAST, "price": 7.5}, max_price=3.0)
    with pytest.raises(OverBudget):
        provider.submit(job)
    with pytest.raises(OverBudget):
        provider.find(job)
    cheaper = JobSpec(job.job_id, job.kind, job.params, max_price=10.0)
    assert provider.find(cheaper).status.state in (RemoteState.PENDING, RemoteState.RUNNING)


def test_cancel_stops_a_running_job_and_is_a_no_op_once_terminal(provider):
    submission = provider.submit(tool_job(LONG))
    provider.cancel(submission.remote_id, "tool")
    status = provider.status(submission.remote_id, "tool")
    assert status.state is RemoteState.CANCELLED and status.detail
    provider.cancel(submission.remote_id, "tool")  # already terminal: nothing to do
    assert provider.status(submission.remote_id, "tool").state is RemoteState.CANCELLED


def test_cancel_sends_no_patch_for_a_finished_job(fresh_emulator):
    provider = make_provider(fresh_emulator)
    submission = provider.submit(tool_job(FAST))
    wait_terminal(provider, submission.remote_id, "tool")
    provider.cancel(submission.remote_id, "tool")
    assert (
        endpoint_count(fresh_emulator, "PATCH /tools/{org}/tools/executions/{execution_id}:cancel")
        == 0
    )
    assert provider.status(submission.remote_id, "tool").state is RemoteState.SUCCEEDED


def test_a_file_uploaded_through_a_signed_url_can_be_found_and_read_back(provider):
    key = f"/jobfleet//{uuid.uuid4()}/out.bin"
    stored = provider.upload_file(key, b"\x00result bytes\xff")
    assert stored == key.replace("//", "/").lstrip("/")
    assert (
        provider.file_exists(stored) and provider.download_file(stored) == b"\x00result bytes\xff"
    )
    assert not provider.file_exists(f"jobfleet/{uuid.uuid4()}/missing.bin")


def test_a_refused_token_is_an_auth_error_that_never_shows_the_token(emulator):
    provider = make_provider(emulator, token="s3cr3t-not-a-jwt-value")
    with pytest.raises(AuthError) as caught:
        provider.status("anything", "tool")
    assert caught.value.status == 401 and "not a JWT" in str(caught.value)
    assert "s3cr3t" not in str(caught.value) and "s3cr3t" not in caught.value.body


def test_an_expired_token_is_an_auth_error_too(emulator):
    provider = make_provider(emulator, token=make_jwt(ttl_s=-60))
    with pytest.raises(AuthError, match="token expired"):
        provider.submit(tool_job(FAST))


def test_injected_5xx_on_a_get_are_absorbed_by_retries(
    flaky_provider, outage, sleeps, fresh_emulator
):
    submission = flaky_provider.submit(tool_job(LONG))
    outage.arm({"fault_5xx": 1.0}, {}, {"fault_5xx": 0.0})
    assert flaky_provider.status(submission.remote_id, "tool").raw in ("Queued", "Running")
    assert endpoint_count(fresh_emulator, GET_ONE) == 3 and len(sleeps) == 2
    assert fresh_emulator.provider_stats("deeporigin")["faults"]["5xx"] == 2


def test_an_injected_429_on_a_get_waits_its_retry_after_then_succeeds(
    flaky_provider, outage, sleeps
):
    submission = flaky_provider.submit(tool_job(LONG))
    outage.arm({"fault_429": 1.0, "retry_after": 0.25}, {"fault_429": 0.0})
    assert flaky_provider.status(submission.remote_id, "tool").raw in ("Queued", "Running")
    assert sleeps == [0.25]


def test_a_long_retry_after_is_raised_at_once_for_the_task_to_reschedule(
    flaky_provider, outage, sleeps
):
    outage.arm({"fault_429": 1.0, "retry_after": 90})
    with pytest.raises(RateLimited) as caught:
        flaky_provider.status("e-1", "tool")
    assert caught.value.retry_after == 90.0 and sleeps == []


def test_a_garbage_body_is_a_bad_response_quoting_it(flaky_provider, outage):
    submission = flaky_provider.submit(tool_job(LONG))
    outage.arm({"fault_garbage": 1.0})
    with pytest.raises(BadResponse) as caught:
        flaky_provider.status(submission.remote_id, "tool")
    assert caught.value.body and caught.value.status == 200


def test_a_lost_create_is_not_repeated_and_is_found_afterwards(
    flaky_provider, outage, fresh_emulator
):
    job = tool_job(FAST, cluster_id="emulator-cluster-1")  # no cluster lookup: one request
    outage.arm({"fault_drop": 1.0})
    with pytest.raises(TransientError):
        flaky_provider.submit(job)
    fresh_emulator.configure("deeporigin", fault_drop=0.0)
    stats = fresh_emulator.provider_stats("deeporigin")
    assert stats["executions_created"] == 1 and stats["creations_by_tag"] == {job.job_id: 1}
    found = flaky_provider.find(job)
    assert found is not None
    assert fresh_emulator.job("deeporigin", found.remote_id)["session"] == job.job_id


def test_listing_reads_every_page_the_platform_counts(fresh_emulator):
    provider = make_provider(fresh_emulator)
    tool = "deeporigin.listing-test"
    created = {provider.submit(JobSpec(f"list-{i}", "tool", {"tool": tool, "inputs": {
        "_emulator": {"duration_s": 0.1}}})).remote_id for i in range(7)}
    listed = list(provider.list_executions({"tool": {"toolManifest": {"key": tool}}},
                                           page_size=3))
    assert {row["executionId"] for row in listed} == created
    pages = endpoint_count(fresh_emulator, "GET /tools/{org}/tools/executions")
    assert pages == 3  # 3 + 3 + 1 rows


def test_a_sweep_opens_its_window_by_the_clock_lag_the_rows_showed(fresh_emulator):
    provider = make_provider(fresh_emulator)
    started = time.time()
    remote = [provider.submit(tool_job(LONG)).remote_id for _ in range(3)]
    # Our clock says these creates began 60 s after the platform dated them: its clock lags.
    watched = [Watched(remote_id, "tool", started + 60.0) for remote_id in remote]

    def seen() -> set[str]:
        return {remote_id for page in provider.sweep(watched) for remote_id, _ in page}

    assert seen() == set(remote)  # first walk: the 120 s allowance covers the lag
    assert seen() == set(remote)  # then: the 60 s it learned, + the margin
    # The window is the learned lag, not the 120 s allowance: a lag 40 s beyond what was
    # learned (a clock that jumped) leaves them out; their own status requests would end them.
    watched = [Watched(remote_id, "tool", started + 100.0) for remote_id in remote]
    assert seen() == set()
