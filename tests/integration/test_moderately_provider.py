"""ModeratelyProvider against the emulator over real HTTP: runs, outputs, cancel, files, faults.

Every test uses ``fresh_emulator`` (this module's own process, reset per test), so request
counts are exact. Faults are scripted, not drawn at random: the provider's ``before_request``
hook applies the next emulator setting before each attempt, so "a 503, then a 429, then an
answer" is exact.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections import deque
from typing import Any

import pytest

from config.settings import ModeratelySettings
from emulator.control import EmulatorControl, start_emulator
from worker.errors import AuthError, BadResponse, PermanentError, TransientError
from worker.providers.base import JobSpec, RemoteState, RemoteStatus
from worker.providers.moderately import ModeratelyProvider
from worker.providers.moderately_params import InvalidParams

pytestmark = pytest.mark.integration

TEAM = "team-jobfleet"
API_KEY = "md-secret-key-0123456789"
FAST = {"duration_s": 0.15, "queue_s": 0.05}
LONG = {"duration_s": 60.0, "queue_s": 0.0}


class ScriptedOutage:
    """A ``before_request`` hook: before each attempt, applies the next emulator settings."""

    def __init__(self, control: EmulatorControl) -> None:
        self.control = control
        self.script: deque[dict[str, Any]] = deque()

    def arm(self, *settings: dict[str, Any]) -> None:
        self.script.extend(settings)

    def __call__(self) -> None:
        if self.script:
            self.control.configure("moderately", **self.script.popleft())


def make_provider(base_url: str, key: str = API_KEY, **kwargs: Any) -> ModeratelyProvider:
    settings = ModeratelySettings(base_url=base_url, api_key=key, team_id=TEAM)
    return ModeratelyProvider(settings, timeout_s=5.0, **kwargs)


def agent_job(emulate: dict[str, Any], **params: Any) -> JobSpec:
    params = {"agentConfigurationVersionId": "acv_1",
              "agentInput": {"question": "why?", "_emulator": emulate}} | params
    return JobSpec(job_id=f"job-{uuid.uuid4()}", kind="agent", params=params)


def pipeline_job(emulate: dict[str, Any], **params: Any) -> JobSpec:
    params = {"pipelineConfigurationVersionId": "pcv_1",
              "pipelineInput": {"docs": ["a"], "_emulator": emulate}} | params
    return JobSpec(job_id=f"job-{uuid.uuid4()}", kind="pipeline", params=params)


def wait_terminal(provider: ModeratelyProvider, remote_id: str, kind: str) -> RemoteStatus:
    deadline = time.monotonic() + 5.0
    while True:
        status = provider.status(remote_id, kind)
        if status.state.terminal or time.monotonic() > deadline:
            return status
        time.sleep(0.05)


def run(provider: ModeratelyProvider, job: JobSpec) -> tuple[str, RemoteStatus]:
    submission = provider.submit(job)
    return submission.remote_id, wait_terminal(provider, submission.remote_id, job.kind)


@pytest.fixture
def provider(fresh_emulator: EmulatorControl):
    made = make_provider(fresh_emulator.base_url("moderately"))
    yield made
    made.close()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def outage(fresh_emulator: EmulatorControl) -> ScriptedOutage:
    return ScriptedOutage(fresh_emulator)


@pytest.fixture
def flaky_provider(fresh_emulator: EmulatorControl, outage: ScriptedOutage, sleeps: list[float]):
    made = make_provider(fresh_emulator.base_url("moderately"), before_request=outage,
                         sleep=sleeps.append, retries=2)
    yield made
    made.close()


def moderately_stats(control: EmulatorControl) -> dict[str, Any]:
    return control.stats()["moderately"]


def test_an_agent_job_runs_to_success_and_its_output_comes_from_the_record(provider):
    submission = provider.submit(agent_job(FAST))
    assert submission.status.state is RemoteState.PENDING and submission.status.raw == "pending"
    final = wait_terminal(provider, submission.remote_id, "agent")
    assert final.state is RemoteState.SUCCEEDED and final.raw == "completed"
    bare = RemoteStatus(state=RemoteState.SUCCEEDED, raw="completed")  # as finalize passes it
    outputs = provider.fetch_outputs(submission.remote_id, "agent", bare)
    assert outputs.data["agentExecutionId"] == submission.remote_id
    assert outputs.data["agentOutput"] == final.record["agentOutput"]
    assert outputs.data["agentOutputSummary"] and outputs.files == {}


def test_a_pipeline_job_with_a_small_output_gets_it_inline(provider, fresh_emulator):
    remote_id, final = run(provider, pipeline_job(FAST, totalSteps=2))
    assert final.state is RemoteState.SUCCEEDED
    outputs = provider.fetch_outputs(remote_id, "pipeline", final)
    assert outputs.data["pipelineOutput"] == final.record["pipelineOutput"]
    assert outputs.files == {}
    record = fresh_emulator.job("moderately", remote_id)
    assert record["input_summary"].startswith("jobfleet job job-")


def test_a_pipeline_job_with_a_large_output_downloads_and_gunzips_the_s3_object(
    provider, fresh_emulator
):
    remote_id, final = run(provider, pipeline_job({**FAST, "output": {"size_bytes": 200_000}}))
    outputs = provider.fetch_outputs(remote_id, "pipeline", final)
    assert set(outputs.files) == {"pipeline-output.json"}
    document = json.loads(outputs.files["pipeline-output.json"])
    assert len(document["padding"]) > 190_000
    assert outputs.data["pipelineOutputFile"] == "pipeline-output.json"
    assert outputs.data["outputMetadata"]["compressionType"] == "gzip"
    assert outputs.data["pipelineOutputSummary"] == f"score {document['result']['score']}"
    endpoints = moderately_stats(fresh_emulator)["requests_by_endpoint"]
    assert endpoints["GET /_storage/{key}"] == 1


def test_an_uncompressed_s3_output_is_kept_as_it_came(provider):
    emulate = {**FAST, "output": {"delivery": "s3", "compression": "none"}}
    remote_id, final = run(provider, pipeline_job(emulate))
    outputs = provider.fetch_outputs(remote_id, "pipeline", final)
    assert "score" in json.loads(outputs.files["pipeline-output.json"])["result"]


def test_outputs_of_a_pipeline_that_has_not_completed_are_a_bad_response(provider):
    submission = provider.submit(pipeline_job(LONG))
    with pytest.raises(BadResponse, match="not completed"):
        provider.fetch_outputs(submission.remote_id, "pipeline", submission.status)


@pytest.mark.parametrize("make_job", [agent_job, pipeline_job])
def test_a_remote_failure_reports_the_platforms_reason(provider, make_job):
    job = make_job({**FAST, "outcome": "failed", "reason": "upstream model overloaded"})
    _, final = run(provider, job)
    assert final.state is RemoteState.FAILED and final.raw == "failed"
    assert "upstream model overloaded" in final.detail


def test_cancelling_a_running_pipeline_sends_our_reason(provider, fresh_emulator):
    submission = provider.submit(pipeline_job(LONG))
    provider.cancel(submission.remote_id, "pipeline")
    status = provider.status(submission.remote_id, "pipeline")
    assert status.state is RemoteState.CANCELLED and status.detail == "cancelled by jobfleet"
    assert fresh_emulator.job("moderately", submission.remote_id)["cancel_reason"] == (
        "cancelled by jobfleet"
    )


def test_cancelling_an_agent_works_and_cancelling_a_finished_job_is_a_no_op(provider):
    running = provider.submit(agent_job(LONG))
    provider.cancel(running.remote_id, "agent")
    assert provider.status(running.remote_id, "agent").state is RemoteState.CANCELLED
    provider.cancel(running.remote_id, "agent")  # 409 from the platform, tolerated
    finished, _ = run(provider, pipeline_job(FAST))
    provider.cancel(finished, "pipeline")  # 400 from the platform, tolerated
    assert provider.status(finished, "pipeline").state is RemoteState.SUCCEEDED


def test_a_summary_over_1000_characters_is_refused_before_any_request(provider, fresh_emulator):
    with pytest.raises(InvalidParams, match="1,000"):
        provider.submit(pipeline_job(FAST, pipelineInputSummary="s" * 1001))
    assert moderately_stats(fresh_emulator)["requests"] == 0


def test_an_uploaded_file_is_found_again_by_its_sha256(provider, fresh_emulator):
    data = b"a,b\n1,2\n3,4\n"
    sha256 = hashlib.sha256(data).hexdigest()
    assert provider.find_upload(sha256, "result.csv") is None
    file_id = provider.upload("result.csv", data, sha256)
    assert provider.find_upload(sha256, "result.csv") == file_id
    assert provider.find_upload(sha256, "renamed.csv") == file_id  # same bytes are enough
    stored = moderately_stats(fresh_emulator)["files"]
    assert stored == {f"files/{file_id}": {"sha256": sha256, "size": len(data)}}


def test_a_lost_complete_answer_retried_into_a_conflict_still_counts_as_uploaded(
    flaky_provider, outage, fresh_emulator
):
    data = b"\x00binary\xff"
    sha256 = hashlib.sha256(data).hexdigest()
    # upload-url, PUT, then /complete is processed but its answer dropped; the retry gets 409.
    outage.arm({}, {}, {"fault_drop": 1.0}, {"fault_drop": 0.0})
    file_id = flaky_provider.upload("blob.bin", data, sha256)
    assert flaky_provider.find_upload(sha256, "blob.bin") == file_id
    counters = moderately_stats(fresh_emulator)
    assert counters["requests_by_endpoint"]["POST /files/{id}/complete"] == 2
    assert counters["responses_by_status"]["dropped"] == 1 and counters["files_stored"] == 1


def test_a_refused_key_is_an_auth_error_that_never_shows_the_key(tmp_path):
    args = ["--md-api-key", "the-right-key", "--providers", "moderately"]
    with start_emulator(args, log_path=tmp_path / "emulator.log") as process:
        provider = make_provider(process.control.base_url("moderately"))
        with pytest.raises(AuthError) as caught:
            provider.status("AeX4kM8nP1qS5tV7wY0zC", "agent")
        provider.close()
    assert caught.value.status == 401
    assert API_KEY not in str(caught.value) and API_KEY not in caught.value.body


def test_another_teams_execution_is_an_auth_error(provider, fresh_emulator):
    submission = provider.submit(agent_job(LONG))
    stranger = ModeratelyProvider(ModeratelySettings(
        base_url=fresh_emulator.base_url("moderately"), api_key=API_KEY, team_id="stranger",
    ))
    with pytest.raises(AuthError) as caught:
        stranger.status(submission.remote_id, "agent")
    assert caught.value.status == 403


def test_an_unknown_execution_is_a_permanent_error(provider):
    with pytest.raises(PermanentError) as caught:
        provider.status("NoSuchExecution000000", "pipeline")
    assert caught.value.status == 404 and not isinstance(caught.value, AuthError)


def test_5xx_and_429_on_a_status_get_are_absorbed_by_brief_retries(
    flaky_provider, outage, sleeps, fresh_emulator
):
    submission = flaky_provider.submit(pipeline_job(LONG))
    outage.arm({"fault_5xx": 1.0}, {"fault_5xx": 0.0, "fault_429": 1.0, "retry_after": 0.2},
               {"fault_429": 0.0})
    status = flaky_provider.status(submission.remote_id, "pipeline")
    assert status.state is RemoteState.RUNNING
    assert len(sleeps) == 2 and sleeps[1] == pytest.approx(0.2)  # the server's hint wins
    faults = moderately_stats(fresh_emulator)["faults"]
    assert (faults["5xx"], faults["429"]) == (1, 1)


def test_a_create_that_hit_a_5xx_is_not_retried_so_it_cannot_be_duplicated(
    flaky_provider, outage, fresh_emulator
):
    outage.arm({"fault_5xx": 1.0}, {"fault_5xx": 0.0})
    with pytest.raises(TransientError):
        flaky_provider.submit(agent_job(FAST))
    counters = moderately_stats(fresh_emulator)
    assert counters["requests_by_endpoint"]["POST /agent-executions"] == 1
    assert counters["executions_created"] == 0


def test_a_create_refused_with_429_is_retried_and_made_once(
    flaky_provider, outage, fresh_emulator
):
    outage.arm({"fault_429": 1.0, "retry_after": 0.1}, {"fault_429": 0.0})
    flaky_provider.submit(agent_job(FAST))
    assert moderately_stats(fresh_emulator)["executions_created"] == 1
