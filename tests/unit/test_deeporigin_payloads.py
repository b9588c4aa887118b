"""Deep Origin's pure pieces: the create body, parameter checks, status and output parsing."""

from __future__ import annotations

import pytest

from worker.errors import BadResponse, ConfigError, PermanentError
from worker.providers.deeporigin import SPEC
from worker.providers.deeporigin.params import build_create_body, tool_params
from worker.providers.deeporigin.records import (
    normalise_key,
    output_file_keys,
    quoted_price,
    remote_status,
)
from worker.providers.deeporigin.settings import DeepOriginSettings
from worker.providers.types import JobSpec, RemoteState

INPUTS = {"smiles": "c1ccccc1C", "radius": 1}


def job(max_price: float | None = None, kind: str = "tool", **params) -> JobSpec:
    params = {"tool": "deeporigin.docking", "inputs": INPUTS} | params
    return JobSpec(job_id="job-1", kind=kind, params=params, max_price=max_price)


def record(status: str = "Running", **extra) -> dict:
    return {"executionId": "e1", "status": status, "tool": {"key": "t", "version": "1"}} | extra


def test_a_minimal_tool_job_builds_the_body_the_official_client_sends():
    assert build_create_body(job(), "proj-1", "cl-1") == {
        "inputs": INPUTS,
        "outputs": {},
        "metadata": {"jobfleet_job_id": "job-1"},
        "projectId": "proj-1",
        "clusterId": "cl-1",
        "app": "jobfleet",
        "session": "job-1",
    }


@pytest.mark.parametrize("ceiling", [0, 0.5, 100])
def test_a_price_ceiling_turns_the_create_into_a_quote_only_request(ceiling):
    assert build_create_body(job(max_price=ceiling), "p", "c")["approveAmount"] == -1


def test_name_metadata_and_cluster_from_params_are_carried_over():
    body = build_create_body(job(name="run 1", metadata={"k": "v"}, cluster_id="cl-9"), "p", "c")
    assert body["name"] == "run 1" and body["clusterId"] == "cl-9"
    assert body["metadata"] == {"k": "v", "jobfleet_job_id": "job-1"}
    assert "approveAmount" not in body


def test_the_version_defaults_to_latest():
    assert tool_params(job()).version == "latest"
    assert tool_params(job(version="4.2.0")).version == "4.2.0"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (job(kind="model"), "unsupported job kind"),
        (job(tool=None), "params.tool"),
        (job(tool="a/b"), "params.tool"),
        (job(version="../x"), "params.version"),
        (job(inputs=None), "params.inputs is required"),
        (job(inputs=[1, 2]), "params.inputs is required"),
        (job(metadata="x"), "params.metadata"),
        (job(inputs={"x": float("nan")}), "plain JSON"),
        (job(inputs={"x": object()}), "plain JSON"),
        (job(name=""), "params.name"),
        (job(priority=3), "unknown params: priority"),
        (job(max_price=-1), "max_price"),
        (JobSpec(job_id="j", kind="tool", params=["x"]), "params must be an object"),
    ],
)
def test_bad_params_are_rejected_with_a_message_naming_the_problem(spec, message):
    with pytest.raises(PermanentError, match=message):
        build_create_body(spec, "p", "c")


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("Quoted", RemoteState.QUOTED),
        ("Created", RemoteState.PENDING),
        ("Queued", RemoteState.PENDING),
        ("Running", RemoteState.RUNNING),
        ("Completed", RemoteState.SUCCEEDED),
        ("Succeeded", RemoteState.SUCCEEDED),
        ("Failed", RemoteState.FAILED),
        ("FailedQuotation", RemoteState.FAILED),
        ("InsufficientFunds", RemoteState.FAILED),
        ("Cancelled", RemoteState.CANCELLED),
    ],
)
def test_every_platform_status_maps_to_a_remote_state(status, state):
    parsed = remote_status(record(status))
    assert (parsed.state, parsed.raw, parsed.record["executionId"]) == (state, status, "e1")


@pytest.mark.parametrize(
    ("reason", "detail"),
    [
        ("docking crashed", "docking crashed"),
        (
            {"message": "no money", "code": "CREDITS_TX.PREPARE.INSUFFICIENT"},
            "no money (CREDITS_TX.PREPARE.INSUFFICIENT)",
        ),
        ({"detail": "bad ligand"}, "bad ligand"),
        ({"weird": 1}, '{"weird": 1}'),
        (None, None),
    ],
)
def test_a_failure_reason_may_be_a_string_or_an_object(reason, detail):
    assert remote_status(record("Failed", statusReason=reason)).detail == detail


@pytest.mark.parametrize(
    "answer",
    [
        record("Exploded"),
        {"status": "Running", "tool": {}},
        {"executionId": "e1", "status": "Running"},
        {"executionId": "e1", "status": None, "tool": {}},
        ["not", "a", "record"],
    ],
)
def test_an_unreadable_record_is_a_bad_response_quoting_it(answer):
    with pytest.raises(BadResponse) as caught:
        remote_status(answer)
    assert caught.value.body  # the raw excerpt goes with it


def test_the_quoted_price_is_the_sum_of_the_successful_quotations():
    quotes = {"successfulQuotations": [{"priceTotal": 0.5}, {"priceTotal": 2}]}
    assert quoted_price(record("Quoted", quotationResult=quotes)) == 2.5
    assert quoted_price(record("Quoted", quotationResult=None)) is None
    bad = {"successfulQuotations": [{"priceTotal": "2"}]}
    assert quoted_price(record("Quoted", quotationResult=bad)) is None


def test_output_file_keys_are_found_anywhere_in_the_outputs_once_each():
    outputs = {
        "enumeration_results": [{"csv_file_path": "runs/e1/a.csv", "cap_hit": False}],
        "file_path": "runs/e1/b.sdf",
        "nested": {"deeper": [{"pose_file_path": "runs/e1/c.pdb"}, {"file_path": "runs/e1/b.sdf"}]},
        "profile_path": "not/a/file/key",
        "count_file_path": 3,
    }
    assert output_file_keys(outputs) == ["runs/e1/a.csv", "runs/e1/b.sdf", "runs/e1/c.pdb"]
    assert output_file_keys(None) == []


def test_file_keys_are_normalised_like_the_official_client_does():
    assert normalise_key("/dir//x.txt") == "dir/x.txt"
    assert normalise_key("a\\b.csv") == "a/b.csv"
    for bad in ("", "/", "a/../b", "a\x00b"):
        with pytest.raises(PermanentError):
            normalise_key(bad)


@pytest.mark.parametrize("missing", ["DO_AUTH_TOKEN", "DO_ORG_KEY", "DO_PROJECT_ID"])
def test_a_missing_setting_is_a_config_error_naming_the_variable_not_a_value(missing, monkeypatch):
    for name in ("DO_AUTH_TOKEN", "DO_ORG_KEY", "DO_PROJECT_ID", "DO_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    values = {"auth_token": "tok-secret-1", "org_key": "acme", "project_id": "proj-1"}
    values[missing.removeprefix("DO_").lower()] = None
    with pytest.raises(ConfigError, match=missing) as caught:
        SPEC.make(DeepOriginSettings(**values))
    assert "tok-secret-1" not in str(caught.value)
