"""ModeratelyProvider against the emulator over real HTTP: runs, outputs, cancel, files, faults.

Every test uses ``fresh_emulator`` (this module's own process, reset per test), so request
counts are exact. Faults are scripted, not drawn at random: the provider's ``before_request``
hook applies the next emulator setting before each attempt, so "a 503, then a 429, then an
answer" is exact.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
import uuid
from typing import Any

import pytest

from emulator.control import EmulatorControl, start_emulator
from tests.fixtures.providers import ScriptedOutage, wait_terminal
from worker.errors import AuthError, BadResponse, PermanentError, TransientError
from worker.providers.matching import FIND_MAX_PAGES, FIND_SLACK_S, SearchInconclusive
from worker.providers.moderately import SPEC
from worker.providers.moderately import search as moderately_search
from worker.providers.moderately.params import InvalidParams
from worker.providers.moderately.provider import ModeratelyProvider
from worker.providers.moderately.settings import ModeratelySettings
from worker.providers.types import JobSpec, RemoteState, RemoteStatus

pytestmark = pytest.mark.integration

TEAM = "team-jobfleet"
API_KEY = "md-secret-key-0123456789"
FAST = {"duration_s": 0.15, "queue_s": 0.05}
LONG = {"duration_s": 60.0, "queue_s": 0.0}


def make_provider(base_url: str, key: str = API_KEY, **kwargs: Any) -> ModeratelyProvider:
    settings = ModeratelySettings(base_url=base_url, api_key=key, team_id=TEAM)
    return SPEC.make(settings, timeout_s=5.0, **kwargs)


def agent_job(emulate: dict[str, Any], **params: Any) -> JobSpec:
    params = {"agentConfigurationVersionId": "acv_1",
              "agentInput": {"question": "why?", "_emulator": emulate}} | params
    return JobSpec(job_id=f"job-{uuid.uuid4()}", kind="agent", params=params)


def pipeline_job(emulate: dict[str, Any], **params: Any) -> JobSpec:
    params = {"pipelineConfigurationVersionId": "pcv_1",
              "pipelineInput": {"docs": ["a"], "_emulator": emulate}} | params
    return JobSpec(job_id=f"job-{uuid.uuid4()}", kind="pipeline", params=params)


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
    return ScriptedOutage(fresh_emulator, "moderately")


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
    stranger = SPEC.make(ModeratelySettings(
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


# -- finding a create whose answer was lost -------------------------------------------------

SUMMARY_KEYS = {"agent": "agentInputSummary", "pipeline": "pipelineInputSummary"}
# A caller's summary that fills the limit, so no marker fits: such a job is found by payload.
FULL_SUMMARY = {"agent": "a" * 500, "pipeline": "p" * 1000}
MAKE = {"agent": agent_job, "pipeline": pipeline_job}


def lost(job: JobSpec, started: float | None, *, by_payload: bool = False) -> JobSpec:
    """The job as the fleet retries it: same id and params, the earlier attempt's start;
    ``by_payload``: the user opted in to adopting a job matched by its inputs alone."""
    return dataclasses.replace(job, create_started=started, adopt_by_payload=by_payload)


def twin(job: JobSpec) -> JobSpec:
    """Another of our jobs with exactly the same params."""
    return dataclasses.replace(job, job_id=f"job-{uuid.uuid4()}")


def test_both_kinds_can_be_searched(provider):
    assert provider.supports_find


@pytest.mark.parametrize("kind", ["agent", "pipeline"])
@pytest.mark.parametrize("summary", [None, "FDA question"])
def test_a_create_whose_answer_was_lost_is_found_by_the_job_id_in_its_summary(
    provider, fresh_emulator, kind, summary
):
    params = {} if summary is None else {SUMMARY_KEYS[kind]: summary}
    job = MAKE[kind](LONG, **params)
    started = time.time()
    created = provider.submit(job)  # its answer never reached the fleet
    found = provider.find(lost(job, started))
    assert found is not None and found.remote_id == created.remote_id
    assert found.status.state in (RemoteState.PENDING, RemoteState.RUNNING)
    sent = fresh_emulator.job("moderately", created.remote_id)["input_summary"]
    assert sent == (f"jobfleet job {job.job_id}" if summary is None
                    else f"FDA question [jobfleet {job.job_id}]")


@pytest.mark.parametrize("kind", ["agent", "pipeline"])
def test_another_job_with_the_same_payload_is_told_apart_by_the_marker(provider, kind):
    job = MAKE[kind](LONG)
    started = time.time()
    provider.submit(job)
    assert provider.find(lost(twin(job), started)) is None


@pytest.mark.parametrize("kind", ["agent", "pipeline"])
def test_without_room_for_the_marker_the_input_decides(provider, kind):
    job = MAKE[kind](LONG, **{SUMMARY_KEYS[kind]: FULL_SUMMARY[kind]})
    started = time.time()
    created = provider.submit(job)
    other = MAKE[kind]({**LONG, "note": "other input"}, **{SUMMARY_KEYS[kind]: FULL_SUMMARY[kind]})
    assert provider.find(lost(other, started, by_payload=True)) is None
    found = provider.find(lost(job, started, by_payload=True))
    assert found.remote_id == created.remote_id


@pytest.mark.parametrize("kind", ["agent", "pipeline"])
def test_without_room_for_the_marker_and_no_opt_in_an_input_match_is_not_adopted(
    provider, kind
):
    job = MAKE[kind](LONG, **{SUMMARY_KEYS[kind]: FULL_SUMMARY[kind]})
    started = time.time()
    created = provider.submit(job)
    with pytest.raises(SearchInconclusive) as caught:
        provider.find(lost(job, started))
    assert caught.value.reason == "submit_unknown"
    assert str(caught.value) == (
        f"moderately: remote job(s) {created.remote_id} have exactly our inputs but nothing "
        "marks them as ours (a stranger's identical job would look the same); not adopted "
        "and not created again (JOBFLEET_ADOPT_BY_PAYLOAD=true adopts such a match)")


@pytest.mark.parametrize("kind", ["agent", "pipeline"])
def test_two_jobs_with_identical_payloads_adopt_two_different_executions(provider, kind):
    first = MAKE[kind](LONG, **{SUMMARY_KEYS[kind]: FULL_SUMMARY[kind]})
    second = twin(first)
    started = time.time()
    one = provider.submit(first).remote_id
    time.sleep(0.005)  # createdAt has milliseconds: two creates in one are not ordered
    two = provider.submit(second).remote_id
    first, second = lost(first, started, by_payload=True), lost(second, started, by_payload=True)
    assert provider.find(second).remote_id == one  # the oldest, deterministically
    adopted = provider.find(first).remote_id
    again = provider.find(second, taken=lambda rid: rid == adopted)
    assert (adopted, again.remote_id) == (one, two)
    assert provider.find(second, taken=lambda rid: True) is None


def test_an_execution_created_before_the_window_is_not_matched(provider):
    job = pipeline_job(LONG)
    provider.submit(job)
    later = time.time() + FIND_SLACK_S + 2  # the "earlier attempt" began after this create
    assert provider.find(lost(job, later)) is None


def test_with_no_known_start_the_last_15_minutes_are_searched(provider):
    job = agent_job(LONG)
    created = provider.submit(job)
    assert provider.find(lost(job, None)).remote_id == created.remote_id


@pytest.mark.parametrize("kind", ["agent", "pipeline"])
def test_a_create_processed_but_dropped_is_recovered_exactly_once(
    flaky_provider, outage, fresh_emulator, kind
):
    job = MAKE[kind](LONG)
    started = time.time()
    outage.arm({"fault_drop": 1.0}, {"fault_drop": 0.0})
    with pytest.raises(TransientError) as caught:
        flaky_provider.submit(job)
    assert caught.value.status is None  # no answer: the step keeps create_started
    found = flaky_provider.find(lost(job, started))
    assert found is not None and flaky_provider.find(lost(job, started)) == found
    counters = moderately_stats(fresh_emulator)
    assert counters["executions_created"] == 1
    assert fresh_emulator.job("moderately", found.remote_id)["input_summary"].endswith(job.job_id)


def test_the_agent_list_has_no_documented_order_so_it_is_read_to_its_end(
    provider, fresh_emulator, monkeypatch
):
    monkeypatch.setattr(moderately_search, "EXECUTION_PAGE_SIZE", 2)
    job = agent_job(LONG)
    started = time.time()
    created = provider.submit(job)
    for _ in range(4):
        provider.submit(twin(job))
    assert provider.find(lost(job, started)).remote_id == created.remote_id
    endpoints = moderately_stats(fresh_emulator)["requests_by_endpoint"]
    assert endpoints["GET /agent-executions"] == 3


def test_the_pipeline_list_is_read_newest_first_and_only_until_the_window_ends(
    provider, fresh_emulator, monkeypatch
):
    monkeypatch.setattr(moderately_search, "EXECUTION_PAGE_SIZE", 2)
    job = pipeline_job(LONG)
    for _ in range(5):
        provider.submit(twin(job))
    assert provider.find(lost(job, time.time() + FIND_SLACK_S + 2)) is None
    endpoints = moderately_stats(fresh_emulator)["requests_by_endpoint"]
    assert endpoints["GET /pipeline-executions"] == 1


def test_a_list_longer_than_the_search_may_read_fails_the_job_rather_than_guess(
    provider, monkeypatch
):
    monkeypatch.setattr(moderately_search, "EXECUTION_PAGE_SIZE", 1)
    job = agent_job(LONG)
    for _ in range(FIND_MAX_PAGES + 1):
        provider.submit(twin(job))
    with pytest.raises(SearchInconclusive) as caught:
        provider.find(lost(job, time.time()))
    assert caught.value.reason == "submit_unknown"


def test_a_5xx_while_searching_is_a_transient_error_of_the_search_and_creates_nothing(
    flaky_provider, outage, fresh_emulator
):
    job = pipeline_job(LONG)
    outage.arm({"fault_5xx": 1.0}, {"fault_5xx": 1.0}, {"fault_5xx": 1.0}, {"fault_5xx": 0.0})
    with pytest.raises(TransientError) as caught:
        flaky_provider.find(lost(job, time.time()))
    assert caught.value.status in (500, 502, 503) and not caught.value.unanswered
    assert moderately_stats(fresh_emulator)["executions_created"] == 0
