"""Reading Moderately answers: statuses, failure reasons, S3 outputs and file lists."""

from __future__ import annotations

import gzip
import json

import pytest

from worker.errors import BadResponse, PermanentError
from worker.providers.moderately.records import (
    failure_detail,
    file_id_of,
    matching_file,
    remote_status,
    s3_output,
)
from worker.providers.types import RemoteState

SHA = "4ea98144b5c08e8062f1fe11370dc683de63218dd3b87743f6f1e9de4da0b282"


def pipeline(status: str, **extra) -> dict:
    return {"pipelineExecutionId": "p1", "status": status, "progressData": {}} | extra


def agent(status: str, **extra) -> dict:
    return {"agentExecutionId": "a1", "status": status, "thoughts": []} | extra


@pytest.mark.parametrize(
    ("raw", "state"),
    [
        ("pending", RemoteState.PENDING),
        ("running", RemoteState.RUNNING),
        ("paused", RemoteState.RUNNING),
        ("completed", RemoteState.SUCCEEDED),
        ("failed", RemoteState.FAILED),
        ("cancelled", RemoteState.CANCELLED),
    ],
)
def test_every_documented_status_maps_to_a_state(raw, state):
    status = remote_status("pipeline", pipeline(raw))
    assert status.state is state and status.raw == raw


@pytest.mark.parametrize(
    "record",
    [
        pipeline("canceled"),  # American spelling: the platform never sends it
        pipeline("COMPLETED"),
        {"status": "running"},
        agent("running"),  # an agent record read as a pipeline
        ["not", "a", "record"],
    ],
)
def test_an_unknown_status_or_shape_is_a_bad_response_quoting_the_record(record):
    with pytest.raises(BadResponse):
        remote_status("pipeline", record)


def test_a_failed_pipeline_reports_its_progress_error():
    record = pipeline("failed", progressData={"error": "block 3 timed out"})
    assert remote_status("pipeline", record).detail == "block 3 timed out"


def test_a_pipeline_error_list_wins_over_the_single_error():
    record = pipeline("failed", progressData={"error": "x", "errors": ["a broke", "b broke"]})
    assert failure_detail("pipeline", record) == "a broke; b broke"


def test_a_cancelled_pipeline_reports_the_reason_it_was_cancelled_with():
    record = pipeline("cancelled", progressData={"cancelReason": "cancelled by jobfleet"})
    assert failure_detail("pipeline", record) == "cancelled by jobfleet"


def test_a_failed_agent_reports_its_output_summary_else_its_last_thought():
    summary = agent("failed", agentOutputSummary="tool quota exhausted")
    assert failure_detail("agent", summary) == "tool quota exhausted"
    thoughts = agent("failed", agentOutputSummary=None, thoughts=[{"text": "plan"},
                                                                  {"text": "Failed: boom"}])
    assert failure_detail("agent", thoughts) == "Failed: boom"
    assert failure_detail("agent", agent("cancelled", thoughts=[{"text": "plan"}])) is None


def test_a_running_execution_has_no_detail():
    assert remote_status("agent", agent("running", agentOutputSummary="x")).detail is None


def s3_answer(**metadata) -> dict:
    return {"type": "s3", "downloadUrl": "http://x/o", "metadata": metadata}


def test_a_gzip_s3_output_is_decompressed_into_a_json_file():
    document = json.dumps({"result": 42}).encode()
    packed = gzip.compress(document)
    answer = s3_answer(compressionType="gzip", fileType="json", fileSizeBytes=len(packed))
    assert s3_output(answer, packed) == ("pipeline-output.json", document)


def test_an_uncompressed_s3_output_is_kept_as_it_came_and_named_by_its_type():
    assert s3_output(s3_answer(compressionType=None, fileType="csv"), b"a,b\n") == (
        "pipeline-output.csv", b"a,b\n"
    )


def test_a_size_matching_the_decompressed_bytes_is_accepted_too():
    document = b'{"a":1}'
    answer = s3_answer(compressionType="gzip", fileSizeBytes=len(document))
    assert s3_output(answer, gzip.compress(document))[1] == document


def test_a_cut_or_corrupt_download_is_a_bad_response():
    with pytest.raises(BadResponse, match="not valid gzip"):
        s3_output(s3_answer(compressionType="gzip"), b"not gzip")
    with pytest.raises(BadResponse, match="the platform said 99"):
        s3_output(s3_answer(fileSizeBytes=99), b"short")


def test_a_compression_we_cannot_undo_is_a_permanent_error():
    with pytest.raises(PermanentError, match="brotli"):
        s3_output(s3_answer(compressionType="brotli"), b"...")


def test_the_upload_url_answer_must_carry_a_file_id_and_url():
    assert file_id_of({"file": {"fileId": "f1"}, "uploadUrl": "http://u"}) == ("f1", "http://u")
    with pytest.raises(BadResponse):
        file_id_of({"fileId": "f1", "uploadUrl": "http://u"})


def listed(file_id: str, name: str = "a.csv", sha: str = SHA, status: str = "completed") -> dict:
    return {"fileId": file_id, "fileName": name, "fileHash": sha, "uploadStatus": status}


def test_find_prefers_a_completed_file_of_the_same_name_and_hash():
    items = [listed("other", name="b.csv"), listed("mine"), listed("pending", status="pending")]
    assert matching_file({"items": items}, SHA, "a.csv") == "mine"
    assert matching_file({"items": items[:1]}, SHA.upper(), "a.csv") == "other"


def test_find_ignores_rows_a_server_returned_despite_the_hash_filter():
    items = [listed("x", sha="0" * 64), listed("y", status="pending")]
    assert matching_file({"items": items}, SHA, "a.csv") is None
    with pytest.raises(BadResponse):
        matching_file({"data": []}, SHA, "a.csv")
