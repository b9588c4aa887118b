"""The Moderately AI emulator over real HTTP: executions, outputs, files, auth, teams, stats.

Each test runs against this module's own emulator process (`fresh_emulator`), reset before
the test, so global stats can be asserted exactly. Jobs pin their timings with the
`_emulator` override in their input object, keeping every wait to a fraction of a second.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import time
from typing import Any

import pytest
import requests

from emulator.control import EmulatorControl, start_emulator

TEAM = "T3amQ9vK2LpX8sR4mN7bY"
FAST = {"duration_s": 0.15, "queue_s": 0.05}
LONG = {"duration_s": 30.0, "queue_s": 0.0}
TERMINAL = {"completed", "failed", "cancelled"}
CSV = b"a,b\n1,2\n3,4\n5,6\n7,8\n"
CSV_SHA = "4ea98144b5c08e8062f1fe11370dc683de63218dd3b87743f6f1e9de4da0b282"
AGENT_KEYS = {
    "agentExecutionId", "agentConfigurationVersionId", "agentInput", "agentInputSchema",
    "agentInputSummary", "agentOutput", "agentOutputSchema", "agentOutputSummary", "status",
    "thoughts", "maxActions", "currentStep", "planningInterval", "createdAt", "updatedAt",
    "startedAt", "completedAt", "failedAt", "cancelledAt", "pausedAt",
}


class Moderately:
    """A bare-bones client that speaks as the official client does: key header, teamIds."""

    def __init__(self, base_url: str, key: str = "test-key", team: str = TEAM) -> None:
        self.base = base_url
        self.team = team
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {key}"

    def call(self, method: str, path: str, *, team: str | None = None, **kwargs: Any):
        params = {"teamIds": team or self.team, **kwargs.pop("params", {})}
        return self.http.request(method, self.base + path, params=params, timeout=5, **kwargs)

    def agent(self, emulate: dict[str, Any] | None = None, **body: Any) -> dict[str, Any]:
        body = {"agent_id": "AgT5bN8mQ2wE4rT6yU9iO",
                "input_data": {"q": "hi", "_emulator": emulate or FAST}} | body
        response = self.call("POST", "/agent-executions", json=body)
        assert response.status_code == 201, response.text
        return response.json()

    def pipeline(self, emulate: dict[str, Any] | None = None, **body: Any) -> requests.Response:
        body = {
            "pipelineConfigurationVersionId": "PcV2hJ5kL8mN1pQ4rS7tU",
            "pipelineInput": {"a": 1, "_emulator": emulate or FAST},
            "pipelineInputSummary": "sum",
        } | body
        return self.call("POST", "/pipeline-executions", json=body)

    def pipeline_ok(self, emulate: dict[str, Any] | None = None, **body: Any) -> dict[str, Any]:
        response = self.pipeline(emulate, **body)
        assert response.status_code == 201, response.text
        return response.json()

    def wait(self, path: str, timeout: float = 5.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            record = self.call("GET", path).json()
            if record["status"] in TERMINAL or time.monotonic() > deadline:
                return record
            time.sleep(0.03)

    def upload_url(self, data: bytes = CSV, **body: Any) -> dict[str, Any]:
        body = {"fileName": "tiny.csv", "fileSize": len(data),
                "fileHash": hashlib.sha256(data).hexdigest(), "mimeType": "text/csv",
                "teamId": self.team} | body
        response = self.call("POST", "/files/upload-url", json=body)
        assert response.status_code == 201, response.text
        return response.json()

    def complete(self, file_id: str, data: bytes = CSV, **body: Any) -> requests.Response:
        body = {"fileSize": len(data), "fileHash": hashlib.sha256(data).hexdigest()} | body
        return self.call("POST", f"/files/{file_id}/complete", json=body)


@pytest.fixture
def md(fresh_emulator: EmulatorControl) -> Moderately:
    return Moderately(fresh_emulator.base_url("moderately"))


def stats(emulator: EmulatorControl) -> dict[str, Any]:
    return emulator.stats()["moderately"]


def put(url: str, data: bytes = CSV, content_type: str = "text/csv") -> requests.Response:
    return requests.put(url, data=data, headers={"Content-Type": content_type}, timeout=5)


def test_an_agent_execution_from_the_official_clients_body_runs_to_completion(md, fresh_emulator):
    created = md.agent()
    assert set(created) == AGENT_KEYS and created["status"] == "pending"
    assert created["agentInput"]["q"] == "hi" and created["agentOutput"] is None
    assert created["agentInputSummary"] and created["thoughts"] == []
    done = md.wait(f"/agent-executions/{created['agentExecutionId']}")
    assert done["status"] == "completed" and done["completedAt"] and done["failedAt"] is None
    assert set(done["agentOutput"]["result"]) == {"input_sha256", "score"}
    assert fresh_emulator.job("moderately", created["agentExecutionId"])["kind"] == "agent"


def test_an_agent_execution_in_the_openapi_form_echoes_its_fields(md):
    created = md.agent(agent_id=None, input_data=None, agentConfigurationVersionId="acv_1",
                       agentInput={"q": "x", "_emulator": FAST}, agentInputSummary="a question",
                       maxActions=20, planningInterval=5)
    assert created["agentConfigurationVersionId"] == "acv_1"
    assert created["agentInputSummary"] == "a question"
    assert (created["maxActions"], created["planningInterval"]) == (20, 5)


def test_a_failed_agent_execution_carries_the_reason_in_its_summary(md):
    created = md.agent({**FAST, "outcome": "failed", "reason": "tool quota exhausted"})
    done = md.wait(f"/agent-executions/{created['agentExecutionId']}")
    assert done["status"] == "failed" and done["failedAt"] and done["agentOutput"] is None
    assert done["agentOutputSummary"] == "tool quota exhausted"


def test_cancelling_an_agent_works_by_post_or_patch_and_conflicts_once_terminal(md):
    first, second = md.agent(LONG), md.agent(LONG)
    for verb, record in (("POST", first), ("PATCH", second)):
        response = md.call(verb, f"/agent-executions/{record['agentExecutionId']}/cancel")
        assert response.status_code == 200 and response.json()["status"] == "cancelled"
        assert response.json()["cancelledAt"]
    again = md.call("POST", f"/agent-executions/{first['agentExecutionId']}/cancel")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "CONFLICT" and again.json()["message"]


def test_a_pipeline_execution_is_created_whole_and_its_output_is_inline(md):
    created = md.pipeline_ok(totalSteps=3)
    assert created["status"] == "pending" and created["progressData"] == {}
    assert (created["currentStep"], created["totalSteps"]) == (0, 3)
    path = f"/pipeline-executions/{created['pipelineExecutionId']}"
    done = md.wait(path)
    assert done["status"] == "completed" and done["currentStep"] == 3
    output = md.call("GET", path + "/output").json()
    assert output["type"] == "inline" and output["data"] == done["pipelineOutput"]
    assert output["summary"] == done["pipelineOutputSummary"]


def test_a_large_pipeline_output_is_served_as_a_gzip_s3_object_without_auth(md):
    created = md.pipeline_ok({**FAST, "output": {"size_bytes": 100_000}})
    path = f"/pipeline-executions/{created['pipelineExecutionId']}"
    done = md.wait(path)
    assert done["pipelineOutput"] is None and done["pipelineOutputFileUri"].startswith("s3://")
    output = md.call("GET", path + "/output").json()
    assert output["type"] == "s3" and output["expiresAt"]
    assert output["metadata"]["compressionType"] == "gzip"
    raw = requests.get(output["downloadUrl"], timeout=5).content
    assert len(raw) == output["metadata"]["fileSizeBytes"]
    document = json.loads(gzip.decompress(raw))
    assert len(document["padding"]) > 90_000 and "score" in document["result"]


def test_an_override_can_ask_for_an_uncompressed_s3_output(md):
    created = md.pipeline_ok({**FAST, "output": {"delivery": "s3", "compression": "none"}})
    path = f"/pipeline-executions/{created['pipelineExecutionId']}"
    md.wait(path)
    output = md.call("GET", path + "/output").json()
    assert output["metadata"]["compressionType"] == "none"
    assert "result" in requests.get(output["downloadUrl"], timeout=5).json()


def test_output_is_a_404_until_the_pipeline_has_completed(md):
    created = md.pipeline_ok(LONG)
    response = md.call("GET", f"/pipeline-executions/{created['pipelineExecutionId']}/output")
    assert response.status_code == 404 and response.json()["error"]["code"] == "NOT_FOUND"


def test_a_pipeline_summary_over_1000_characters_is_refused_and_nothing_is_created(
    md, fresh_emulator
):
    response = md.pipeline(pipelineInputSummary="s" * 1001)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "BAD_REQUEST" and error["details"][0]["field"] == "pipelineInputSummary"
    assert "details" not in response.json()  # a top-level one would change the SDK's exception
    assert stats(fresh_emulator)["executions_created"] == 0
    assert md.pipeline(pipelineInputSummary="s" * 1000).status_code == 201


def test_a_failed_pipeline_reports_its_reason_in_progress_data(md):
    created = md.pipeline_ok({**FAST, "outcome": "failed", "reason": "block 3 timed out"})
    done = md.wait(f"/pipeline-executions/{created['pipelineExecutionId']}")
    assert done["status"] == "failed" and done["progressData"]["error"] == "block 3 timed out"


def test_a_pipeline_cancel_keeps_its_reason_and_a_finished_one_cannot_be_cancelled(md):
    created = md.pipeline_ok(LONG)
    path = f"/pipeline-executions/{created['pipelineExecutionId']}/cancel"
    cancelled = md.call("POST", path, json={"reason": "no longer needed"})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["progressData"]["cancelReason"] == "no longer needed"
    assert md.call("POST", path, json={}).status_code == 400
    too_long = md.call("POST", path, json={"reason": "r" * 501})
    assert too_long.status_code == 400


def test_an_override_can_refuse_the_create_and_a_typo_in_it_is_a_400(md, fresh_emulator):
    refused = md.pipeline({"reject": {"status": 422, "message": "input schema mismatch"}})
    assert refused.status_code == 422 and refused.json()["message"] == "input schema mismatch"
    assert md.pipeline({"duration": 1}).status_code == 400
    assert stats(fresh_emulator)["executions_created"] == 0


@pytest.mark.parametrize("authorization", [None, "", "Bearer ", "Basic abc"])
def test_a_missing_or_malformed_api_key_is_a_401_envelope(md, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}
    md.http.headers.pop("Authorization")
    response = md.call("GET", "/agent-executions", headers=headers)
    assert response.status_code == 401 and response.json()["error"]["code"] == "UNAUTHORIZED"


def test_a_request_without_team_ids_is_refused_and_other_teams_cannot_see_it(md):
    response = md.http.get(f"{md.base}/pipeline-executions", timeout=5)
    assert response.status_code == 400 and "teamIds" in response.json()["message"]
    created = md.pipeline_ok(LONG)
    path = f"/pipeline-executions/{created['pipelineExecutionId']}"
    assert md.call("GET", path, team="other-team").status_code == 403
    listed = md.call("GET", "/pipeline-executions", team="other-team").json()
    assert listed["items"] == [] and listed["pagination"]["totalItems"] == 0


def test_start_up_options_narrow_the_accepted_keys_and_teams(tmp_path):
    args = ["--md-api-key", "good-key", "--md-team", TEAM, "--providers", "moderately"]
    with start_emulator(args, log_path=tmp_path / "emulator.log") as process:
        base = process.control.base_url("moderately")
        assert Moderately(base, key="good-key").call("GET", "/files").status_code == 200
        assert Moderately(base, key="bad-key").call("GET", "/files").status_code == 401
        wrong_team = Moderately(base, key="good-key", team="stranger").call("GET", "/files")
        assert wrong_team.status_code == 403 and wrong_team.json()["error"]["code"] == "FORBIDDEN"


def test_agent_executions_list_newest_first_in_snake_case_pages_filtered_by_agent(md):
    mine = [md.agent(LONG)["agentExecutionId"] for _ in range(3)]
    md.agent(LONG, agent_id="someone-else")
    query = {"page": 1, "page_size": 2, "order_by": "created_at", "order_direction": "desc",
             "agent_id": "AgT5bN8mQ2wE4rT6yU9iO"}
    first = md.call("GET", "/agent-executions", params=query).json()
    second = md.call("GET", "/agent-executions", params={**query, "page": 2}).json()
    ids = [row["agentExecutionId"] for row in first["items"] + second["items"]]
    assert ids == mine[::-1]
    assert first["pagination"] == {"page": 1, "pageSize": 2, "totalItems": 3, "totalPages": 2,
                                   "hasNextPage": True, "hasPreviousPage": False}


def test_pipeline_executions_list_by_comma_joined_statuses_oldest_first(md):
    running = md.pipeline_ok(LONG)["pipelineExecutionId"]
    cancelled = md.pipeline_ok(LONG)["pipelineExecutionId"]
    md.call("POST", f"/pipeline-executions/{cancelled}/cancel", json={})
    query = {"page": 1, "pageSize": 10, "orderDirection": "asc", "statuses": "running,pending"}
    listed = md.call("GET", "/pipeline-executions", params=query).json()
    assert [row["pipelineExecutionId"] for row in listed["items"]] == [running]
    both = md.call("GET", "/pipeline-executions", params={"pageSize": 10}).json()
    assert [row["pipelineExecutionId"] for row in both["items"]] == [running, cancelled]


def test_the_pipeline_list_refuses_a_pipeline_filter_it_cannot_honour(md):
    response = md.call("GET", "/pipeline-executions", params={"pipelineIds": "p1,p2"})
    assert response.status_code == 400 and "pipelineIds" in response.json()["message"]


def test_the_async_clients_snake_case_upload_body_is_accepted_and_checked_at_complete(md):
    response = md.call("POST", "/files/upload-url", json={
        "filename": "tiny.csv", "file_size": len(CSV), "team_id": TEAM, "mime_type": "text/csv",
    })
    assert response.status_code == 201 and response.json()["file"]["fileHash"] is None
    started = response.json()
    put(started["uploadUrl"])
    assert md.complete(started["file"]["fileId"], fileHash="0" * 64).status_code == 400
    done = md.complete(started["file"]["fileId"])
    assert done.status_code == 200 and done.json()["fileHash"] == CSV_SHA


def test_a_file_uploads_in_three_steps_and_is_found_by_its_sha256(md, fresh_emulator):
    started = md.upload_url()
    assert started["file"]["uploadStatus"] == "pending" and started["uploadUrl"].startswith("http")
    assert put(started["uploadUrl"]).status_code == 200  # no Authorization, like S3
    file_id = started["file"]["fileId"]
    done = md.complete(file_id)
    assert done.status_code == 200 and done.json()["uploadStatus"] == "completed"
    assert done.json()["fileHash"] == CSV_SHA

    query = {"page": 1, "page_size": 10, "order_by": "created_at", "fileHashes": CSV_SHA}
    listed = md.call("GET", "/files", params=query).json()
    assert [row["fileId"] for row in listed["items"]] == [file_id]
    assert md.call("GET", "/files", params={"fileHashes": "0" * 64}).json()["items"] == []
    assert md.call("GET", f"/files/{file_id}").json()["fileName"] == "tiny.csv"
    link = md.call("GET", f"/files/{file_id}/download").json()
    assert requests.get(link["downloadUrl"], timeout=5).content == CSV
    assert stats(fresh_emulator)["files"] == {f"files/{file_id}": {"sha256": CSV_SHA, "size": 20}}


def test_a_deleted_file_is_gone_from_retrieve_and_list(md):
    started = md.upload_url()
    put(started["uploadUrl"])
    file_id = started["file"]["fileId"]
    md.complete(file_id)
    assert md.call("DELETE", f"/files/{file_id}").status_code == 204
    assert md.call("GET", f"/files/{file_id}").status_code == 404
    assert md.call("GET", "/files").json()["items"] == []


def test_complete_verifies_size_and_hash_of_what_actually_arrived(md, fresh_emulator):
    started = md.upload_url()
    file_id = started["file"]["fileId"]
    assert md.complete(file_id).status_code == 400  # nothing uploaded yet
    assert put(started["uploadUrl"], data=CSV[:-1]).status_code == 200
    assert md.complete(file_id).status_code == 400  # short by one byte
    assert md.call("GET", f"/files/{file_id}/download").status_code == 400  # still pending
    put(started["uploadUrl"])
    assert md.complete(file_id, fileHash="0" * 64).status_code == 400
    assert md.complete(file_id).status_code == 200
    again = md.complete(file_id)
    assert again.status_code == 409 and again.json()["error"]["code"] == "CONFLICT"
    assert stats(fresh_emulator)["files_stored"] == 1


def test_a_presigned_put_must_carry_the_signed_content_type(md):
    started = md.upload_url()
    assert put(started["uploadUrl"], content_type="application/octet-stream").status_code == 403
    tampered = started["uploadUrl"].replace("signature=", "signature=0")
    assert put(tampered).status_code == 403


def test_an_upload_for_another_team_is_forbidden(md):
    response = md.call("POST", "/files/upload-url", json={
        "fileName": "a.csv", "fileSize": 1, "fileHash": "ab", "mimeType": "text/csv",
        "teamId": "other-team",
    })
    assert response.status_code == 403


def test_stats_count_creations_per_payload_since_executions_carry_no_tag(md, fresh_emulator):
    md.pipeline_ok(LONG)
    md.pipeline_ok(LONG)  # a blind retry of the same create
    md.agent(LONG)
    counters = stats(fresh_emulator)
    assert counters["executions_created"] == 3 and counters["jobs_created"] == 3
    assert counters["duplicate_payloads"] == 1
    assert sorted(counters["creations_by_payload"].values()) == [1, 2]
    assert counters["creations_by_tag"] == {} and counters["duplicate_tags"] == 0
    assert counters["jobs_by_status"] == {"running": 3}
    assert counters["requests_by_endpoint"]["POST /pipeline-executions"] == 2


def test_injected_faults_answer_json_and_are_counted(md, fresh_emulator):
    fresh_emulator.configure("moderately", fault_429=1.0, retry_after=2)
    response = md.call("GET", "/files")
    assert response.status_code == 429 and response.headers["Retry-After"] == "2"
    assert response.json()["message"]
    fresh_emulator.configure("moderately", fault_429=0.0, fault_5xx=1.0)
    assert md.call("GET", "/files").status_code in (500, 502, 503)
    faults = stats(fresh_emulator)["faults"]
    assert (faults["429"], faults["5xx"]) == (1, 1)


def test_health_answers_without_a_key_or_team(fresh_emulator):
    url = fresh_emulator.base_url("moderately") + "/health"
    assert requests.get(url, timeout=5).json() == {"status": "ok"}
