"""Moderately job params: the schema of agent and pipeline job lines, and the bodies sent."""

from __future__ import annotations

import hashlib

import pytest
from pydantic import SecretStr

from worker.errors import ConfigError, PermanentError
from worker.providers.moderately import SPEC
from worker.providers.moderately.params import (
    InvalidParams,
    agent_body,
    carries_job_id,
    complete_request,
    create_request,
    pipeline_body,
    upload_request,
)
from worker.providers.moderately.settings import ModeratelySettings
from worker.providers.types import JobSpec

AGENT_INPUT = {"question": "What changed in the FDA rules?"}
PIPELINE_INPUT = {"documents": ["f1", "f2"]}


def agent_job(**params) -> JobSpec:
    params = {"agentConfigurationVersionId": "acv_1", "agentInput": AGENT_INPUT} | params
    return JobSpec(job_id="job-1", kind="agent", params=params)


def pipeline_job(max_price: float | None = None, **params) -> JobSpec:
    params = {"pipelineConfigurationVersionId": "pcv_1", "pipelineInput": PIPELINE_INPUT} | params
    return JobSpec(job_id="job-2", kind="pipeline", params=params, max_price=max_price)


def test_a_minimal_agent_job_sends_the_openapi_body_with_our_job_id_as_summary():
    assert agent_body(agent_job()) == {
        "agentConfigurationVersionId": "acv_1",
        "agentInput": AGENT_INPUT,
        "agentInputSummary": "jobfleet job job-1",
    }


def test_an_agent_job_passes_its_optional_fields_through_unchanged():
    schema = {"type": "object"}
    body = agent_body(agent_job(
        agentInputSummary="FDA question", maxActions=20, planningInterval=5,
        agentInputSchema=schema, agentOutputSchema=None,
    ))
    assert body["agentInputSummary"] == "FDA question [jobfleet job-1]"
    assert (body["maxActions"], body["planningInterval"]) == (20, 5)
    assert body["agentInputSchema"] == schema and body["agentOutputSchema"] is None


def test_a_minimal_pipeline_job_sends_config_version_input_and_a_default_summary():
    path, body = create_request(pipeline_job())
    assert path == "/pipeline-executions"
    assert body == {
        "pipelineConfigurationVersionId": "pcv_1",
        "pipelineInput": PIPELINE_INPUT,
        "pipelineInputSummary": "jobfleet job job-2",
    }


def test_a_pipeline_summary_of_exactly_1000_characters_is_accepted_and_sent_unmarked():
    body = pipeline_body(pipeline_job(pipelineInputSummary="s" * 1000, totalSteps=3))
    assert body["pipelineInputSummary"] == "s" * 1000 and body["totalSteps"] == 3


@pytest.mark.parametrize(("kind", "limit"), [("agent", 500), ("pipeline", 1000)])
def test_a_callers_summary_is_marked_with_our_job_id_only_when_the_marker_fits(kind, limit):
    make, key = (agent_job, "agentInputSummary") if kind == "agent" else (
        pipeline_job, "pipelineInputSummary")
    job_id = make().job_id
    room = limit - len(f" [jobfleet {job_id}]")
    assert create_request(make(**{key: "x" * room}))[1][key] == "x" * room + f" [jobfleet {job_id}]"
    assert create_request(make(**{key: "x" * (room + 1)}))[1][key] == "x" * (room + 1)


@pytest.mark.parametrize(("summary", "carries"), [
    ("jobfleet job job-1", True),
    ("FDA question [jobfleet job-1]", True),
    ("jobfleet job job-12", False),
    ("FDA question [jobfleet job-12]", False),
    ("[jobfleet job-1] FDA question", False),
    (None, False),
])
def test_only_the_exact_default_or_a_trailing_marker_names_a_job(summary, carries):
    assert carries_job_id(summary, "job-1") is carries


def test_a_pipeline_summary_over_1000_characters_is_a_permanent_error_naming_the_limit():
    with pytest.raises(InvalidParams) as caught:
        pipeline_body(pipeline_job(pipelineInputSummary="s" * 1001))
    assert isinstance(caught.value, PermanentError)
    assert "pipelineInputSummary is 1,001 characters" in str(caught.value)
    assert "at most 1,000" in str(caught.value)


def test_the_emulator_override_travels_inside_the_input_object():
    emulate = {"duration_s": 1.0, "output": {"delivery": "s3"}}
    body = pipeline_body(pipeline_job(pipelineInput={"a": 1, "_emulator": emulate}))
    assert body["pipelineInput"]["_emulator"] == emulate


@pytest.mark.parametrize(
    ("job", "message"),
    [
        (agent_job(agentConfigurationVersionId=""), "agentConfigurationVersionId is required"),
        (agent_job(agentInput=[1]), "agentInput is required and must be an object"),
        (agent_job(agentInputSummary="x" * 501), "at most 500"),
        (agent_job(agentInputSummary=""), "non-empty string"),
        (agent_job(maxActions=101), "maxActions must be between 1 and 100"),
        (agent_job(planningInterval=True), "planningInterval must be an integer"),
        (agent_job(agent_id="a1"), "unknown params for a agent job: agent_id"),
        (agent_job(agentInput={"x": float("nan")}), "plain JSON"),
        (pipeline_job(pipelineConfigurationVersionId=None), "pipelineConfigurationVersionId"),
        (pipeline_job(totalSteps=0), "totalSteps must be between 1 and any"),
        (pipeline_job(agentInput={}), "unknown params for a pipeline job: agentInput"),
        (pipeline_job(max_price=5.0), "quotes no prices"),
        (JobSpec(job_id="j", kind="tool", params={}), "unsupported job kind 'tool'"),
    ],
)
def test_params_that_break_a_documented_rule_are_refused_before_any_request(job, message):
    with pytest.raises(InvalidParams, match=message):
        create_request(job)


def test_an_upload_declares_name_size_hash_mime_type_and_team():
    data = b"a,b\n1,2\n"
    sha256 = hashlib.sha256(data).hexdigest()
    body = upload_request("tiny.csv", data, sha256.upper(), "team-1")
    assert body == {
        "fileName": "tiny.csv", "fileSize": 8, "fileHash": sha256, "mimeType": "text/csv",
        "teamId": "team-1",
    }
    assert complete_request(body) == {"fileSize": 8, "fileHash": sha256}


def test_an_upload_of_an_unknown_type_is_sent_as_octet_stream():
    data = b"\x00\x01"
    body = upload_request("blob.weird", data, hashlib.sha256(data).hexdigest(), "t")
    assert body["mimeType"] == "application/octet-stream"


def test_an_upload_whose_hash_is_not_that_of_its_bytes_is_refused():
    with pytest.raises(InvalidParams, match="is not that of its bytes"):
        upload_request("a.txt", b"abc", "0" * 64, "t")


@pytest.mark.parametrize(
    ("settings", "variable"),
    [
        ({"api_key": None, "team_id": "t"}, "MODERATELY_API_KEY"),
        ({"api_key": SecretStr("k"), "team_id": None}, "MODERATELY_TEAM_ID"),
        ({"api_key": SecretStr("k"), "team_id": "t", "base_url": "ftp://x"}, "MODERATELY_BASE_URL"),
    ],
)
def test_a_missing_or_bad_setting_is_a_config_error_naming_the_variable(settings, variable):
    with pytest.raises(ConfigError, match=variable):
        SPEC.make(ModeratelySettings(**settings))
