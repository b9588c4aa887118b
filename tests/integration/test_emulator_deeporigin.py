"""The Deep Origin emulator over real HTTP: lifecycle, quotes, cancel, lists, faults, files.

Each test runs against this module's own emulator process (`fresh_emulator`), reset before the
test, so global stats can be asserted exactly. Jobs pin their timings with the `_emulator`
override, keeping every wait to a fraction of a second.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from typing import Any

import pytest
import requests

from emulator.control import EmulatorControl, start_emulator
from emulator.tokens import make_jwt

TOOL = "deeporigin.docking"
ORG = "acme"
FAST = {"duration_s": 0.15, "queue_s": 0.05}


class DeepOrigin:
    """A bare-bones client for the emulated API, speaking as the official client does."""

    def __init__(self, base_url: str, token: str | None = None) -> None:
        self.base = base_url
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token or make_jwt()}"
        self.session_tag = str(uuid.uuid4())

    def body(self, inputs: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
        return {
            "inputs": inputs if inputs is not None else {"ligand": "c1ccccc1"},
            "outputs": {}, "metadata": {}, "projectId": "proj-1", "clusterId": "emulator-cluster-1",
            "app": "python-client", "session": self.session_tag, **extra,
        }

    def create(self, inputs: dict[str, Any] | None = None, version: str = "4", **extra: Any):
        url = f"{self.base}/tools/{ORG}/tools/{TOOL}/{version}/executions"
        return self.http.post(url, json=self.body(inputs, **extra), timeout=5)

    def create_ok(self, emulate: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
        response = self.create({"ligand": "c1ccccc1", "_emulator": emulate or FAST}, **extra)
        assert response.status_code == 200, response.text
        return response.json()

    def get(self, execution_id: str, **kwargs: Any) -> requests.Response:
        url = f"{self.base}/tools/{ORG}/tools/executions/{execution_id}"
        return self.http.get(url, timeout=5, **kwargs)

    def patch(self, execution_id: str, action: str) -> requests.Response:
        url = f"{self.base}/tools/{ORG}/tools/executions/{execution_id}:{action}"
        return self.http.patch(url, timeout=5)

    def list(self, **params: Any) -> requests.Response:
        if isinstance(params.get("filter"), dict):
            params["filter"] = json.dumps(params["filter"])
        return self.http.get(f"{self.base}/tools/{ORG}/tools/executions", params=params, timeout=5)

    def wait(self, execution_id: str, statuses: set[str], timeout: float = 5.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            dto = self.get(execution_id).json()
            if dto["status"] in statuses or time.monotonic() > deadline:
                return dto
            time.sleep(0.03)


@pytest.fixture
def do(fresh_emulator: EmulatorControl) -> DeepOrigin:
    return DeepOrigin(fresh_emulator.base_url("deeporigin"))


def stats(emulator: EmulatorControl) -> dict[str, Any]:
    return emulator.stats()["deeporigin"]


def test_clusters_lists_one_default_cluster(do):
    body = do.http.get(f"{do.base}/tools/{ORG}/clusters", timeout=5).json()
    assert body["count"] == 1 and body["data"][0]["id"]


def test_health_endpoints_answer_ok_without_a_token(fresh_emulator):
    base = fresh_emulator.base_url("deeporigin")
    for service in ("tools", "files", "data-platform", "billing"):
        assert requests.get(f"{base}/{service}/health", timeout=5).json() == {"status": "ok"}


def test_a_created_execution_echoes_the_request_and_runs_to_completion(do, fresh_emulator):
    created = do.create_ok(name="first run")
    assert created["status"] in {"Created", "Queued", "Running"}
    assert created["tool"] == {"key": TOOL, "version": "4.0.0"}
    assert created["userInputs"]["ligand"] == "c1ccccc1"
    for key, value in do.body(name="first run").items():
        if key not in ("inputs", "outputs"):
            assert created[key] == value, key
    assert created["jobOutputs"] is None and created["completedAt"] is None

    done = do.wait(created["executionId"], {"Completed"})
    assert done["status"] == "Completed"
    assert done["createdAt"].endswith("Z") and done["startedAt"] and done["completedAt"]
    assert done["jobOutputs"]["result_file"]["file_path"].endswith("/result.json")
    assert done["quotationResult"]["successfulQuotations"][0]["priceTotal"] == 1.0
    record = fresh_emulator.job("deeporigin", created["executionId"])
    assert record["outcome"] == "succeeded" and record["status"] == "Completed"


def test_a_v2_get_reports_progress_as_a_tree(do):
    created = do.create_ok({"duration_s": 5, "queue_s": 0})
    v2 = do.get(created["executionId"], headers={"Accept": "application/json;v=2.0"}).json()
    assert v2["status"] == "Running"
    assert isinstance(v2["progressReport"]["displayName"], str)
    assert v2["progressReport"]["status"] == "Running"


def test_the_result_file_in_job_outputs_downloads_through_a_signed_url(do):
    done = do.wait(do.create_ok()["executionId"], {"Completed"})
    path = done["jobOutputs"]["result_file"]["file_path"]
    url = do.http.get(f"{do.base}/files/{ORG}/signedUrl/{path}", timeout=5).json()["url"]
    document = requests.get(url, timeout=5).json()  # no auth, like a presigned S3 URL
    assert document["input_sha256"] == done["jobOutputs"]["result"]["input_sha256"]
    assert document["executionId"] == done["executionId"]


def test_an_override_makes_an_execution_fail_with_its_reason(do, fresh_emulator):
    created = do.create_ok({**FAST, "outcome": "failed", "reason": "ligand exploded"})
    done = do.wait(created["executionId"], {"Failed"})
    assert done["status"] == "Failed" and done["statusReason"] == "ligand exploded"
    assert done["jobOutputs"] is None
    assert fresh_emulator.job("deeporigin", created["executionId"])["outcome"] == "failed"


def test_the_failure_rate_fails_jobs_that_carry_no_outcome(do, fresh_emulator):
    fresh_emulator.configure("deeporigin", failure_rate=1.0)
    done = do.wait(do.create_ok()["executionId"], {"Failed"})
    assert done["status"] == "Failed" and done["statusReason"]


def test_a_quote_waits_for_confirm_and_its_clock_starts_there(do):
    quoted = do.create_ok({**FAST, "price": 2.5}, approveAmount=-1)
    assert quoted["status"] == "Quoted"
    assert quoted["quotationResult"]["successfulQuotations"][0]["priceTotal"] == 2.5
    time.sleep(0.3)  # longer than the job's whole duration: a quote must not run by itself
    assert do.get(quoted["executionId"]).json()["status"] == "Quoted"

    confirmed = do.patch(quoted["executionId"], "confirm")
    assert confirmed.status_code == 200 and confirmed.json()["status"] in {"Queued", "Running"}
    seen = {do.get(quoted["executionId"]).json()["status"] for _ in range(5)}
    assert "Quoted" not in seen
    assert do.wait(quoted["executionId"], {"Completed"})["status"] == "Completed"


@pytest.mark.parametrize(
    ("approve", "expected"),
    [(0, "Quoted"), (2.0, "Quoted"), (2.5, "Queued"), (10, "Queued"), (None, "Queued")],
)
def test_approve_amount_quotes_unless_it_covers_the_price(do, approve, expected):
    extra = {} if approve is None else {"approveAmount": approve}
    created = do.create_ok({"price": 2.5, "queue_s": 5, "duration_s": 1}, **extra)
    assert created["status"] == expected


def test_confirming_an_execution_that_is_not_quoted_is_a_conflict(do):
    quoted = do.create_ok(approveAmount=-1)
    assert do.patch(quoted["executionId"], "confirm").status_code == 200
    again = do.patch(quoted["executionId"], "confirm")
    assert again.status_code == 409 and "not Quoted" in again.json()["message"]


def test_cancel_stops_a_running_execution_and_leaves_a_finished_one_alone(do):
    running = do.create_ok({"duration_s": 30, "queue_s": 0})
    cancelled = do.patch(running["executionId"], "cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "Cancelled"
    assert do.get(running["executionId"]).json()["status"] == "Cancelled"

    finished = do.wait(do.create_ok()["executionId"], {"Completed"})
    after = do.patch(finished["executionId"], "cancel")
    assert after.status_code == 200 and after.json()["status"] == "Completed"


def test_an_unknown_execution_is_a_404_with_detail(do):
    response = do.get("no-such-id")
    assert response.status_code == 404
    assert response.json()["detail"] == "Execution no-such-id not found"
    assert do.patch("no-such-id", "cancel").status_code == 404


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer not-a-jwt",
        f"Bearer {make_jwt(ttl_s=-10)}",
        f"Bearer {make_jwt({'exp': None})}",
    ],
    ids=["missing", "not-a-jwt", "expired", "no-exp"],
)
def test_requests_without_a_valid_unexpired_jwt_are_refused(fresh_emulator, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    url = f"{fresh_emulator.base_url('deeporigin')}/tools/{ORG}/clusters"
    response = requests.get(url, headers=headers, timeout=5)
    assert response.status_code == 401 and response.json()["message"]


@pytest.mark.parametrize(
    "change",
    [{"inputs": {"_emulator": {"duration": 1}}}, {"visibility": None}, {"projectId": ""}],
    ids=["unknown-override-key", "null-visibility", "no-project"],
)
def test_create_rejects_malformed_bodies_and_overrides(do, fresh_emulator, change):
    response = do.http.post(
        f"{do.base}/tools/{ORG}/tools/{TOOL}/4/executions", json={**do.body(), **change}, timeout=5
    )
    assert response.status_code == 400 and response.json()["message"]
    assert stats(fresh_emulator)["executions_created"] == 0


def test_a_sync_create_blocks_until_the_execution_is_done(do):
    started = time.monotonic()
    done = do.create_ok({"duration_s": 0.3, "queue_s": 0}, sync=True)
    assert done["status"] == "Completed" and done["jobOutputs"]
    assert time.monotonic() - started >= 0.3


def test_listing_pages_through_every_match_in_a_stable_order(do):
    ids = {do.create_ok()["executionId"] for _ in range(5)}
    mine = {"session": do.session_tag}
    pages = [do.list(page=n, pageSize=2, filter=mine).json() for n in range(3)]
    assert [len(p["data"]) for p in pages] == [2, 2, 1]
    assert {p["count"] for p in pages} == {5}
    rows = [row for p in pages for row in p["data"]]
    assert {row["executionId"] for row in rows} == ids
    keys = [(row["createdAt"], row["executionId"]) for row in rows]
    assert keys == sorted(keys, key=lambda k: (k[0], k[1]), reverse=True)


def test_a_listed_execution_shows_its_new_status_on_the_next_page(do):
    execution_id = do.create_ok({"duration_s": 0.3, "queue_s": 0})["executionId"]
    mine = {"session": do.session_tag}
    first = do.list(filter=mine)
    assert first.headers["Content-Type"] == "application/json; charset=utf-8"
    assert [row["status"] for row in first.json()["data"]] == ["Running"]
    assert do.wait(execution_id, {"Completed"})["status"] == "Completed"
    [row] = do.list(filter=mine).json()["data"]
    assert row == do.get(execution_id).json()  # the list row is the v1 DTO, as fresh
    assert row["status"] == "Completed" and row["jobOutputs"]["result_file"]


def test_list_filters_by_tool_project_status_and_execution_ids(do):
    quoted = do.create_ok(approveAmount=-1)["executionId"]
    running = do.create_ok({"duration_s": 30, "queue_s": 0})["executionId"]
    mine = {"session": do.session_tag}

    def ids(**filters: Any) -> set[str]:
        return {row["executionId"] for row in do.list(filter={**mine, **filters}).json()["data"]}

    assert ids(tool={"toolManifest": {"key": TOOL}}, projectId="proj-1") == {quoted, running}
    assert ids(tool={"toolManifest": {"key": "other.tool"}}) == set()
    assert ids(status={"$in": ["Quoted"]}) == {quoted}
    assert ids(executionId={"$in": [running, "unknown"]}) == {running}
    assert ids(app="python-client") == {quoted, running}


def test_created_at_gt_is_compared_as_a_timestamp_not_a_string(do):
    first = do.create_ok()
    time.sleep(0.01)
    second = do.create_ok()
    stamp = first["createdAt"].replace("Z", "000+00:00")  # microseconds and an offset
    rows = do.list(filter={"session": do.session_tag, "createdAt": {"$gt": stamp}}).json()
    assert [row["executionId"] for row in rows["data"]] == [second["executionId"]]


@pytest.mark.parametrize(
    "params",
    [{"filter": "{not json"}, {"filter": '{"colour": "red"}'}, {"pageSize": 20000}, {"page": -1}],
)
def test_a_malformed_list_query_is_a_400(do, params):
    response = do.list(**params)
    assert response.status_code == 400 and response.json()["message"]


def test_injected_server_errors_reject_creates_without_creating_anything(do, fresh_emulator):
    fresh_emulator.configure("deeporigin", fault_5xx=1.0)
    statuses = {do.create().status_code for _ in range(6)}
    assert statuses <= {500, 502, 503}
    after = stats(fresh_emulator)
    assert after["executions_created"] == 0 and after["faults"]["5xx"] == 6


def test_injected_429s_carry_retry_after(do, fresh_emulator):
    fresh_emulator.configure("deeporigin", fault_429=1.0, retry_after=3)
    response = do.get("whatever")
    assert response.status_code == 429 and response.headers["Retry-After"] == "3"


def test_a_dropped_connection_still_creates_the_execution(do, fresh_emulator):
    fresh_emulator.configure("deeporigin", fault_drop=1.0)
    with pytest.raises(requests.ConnectionError):
        do.create()
    fresh_emulator.configure("deeporigin", fault_drop=0.0)
    assert do.create().status_code == 200  # the client's blind retry
    after = stats(fresh_emulator)
    assert after["executions_created"] == 2 and after["faults"]["drop"] == 1
    assert after["creations_by_tag"][do.session_tag] == 2
    assert after["duplicate_tags"] == 1 and after["duplicate_payloads"] == 1


def test_garbage_answers_are_200s_whose_body_is_not_json(do, fresh_emulator):
    fresh_emulator.configure("deeporigin", fault_garbage=1.0)
    for _ in range(4):
        response = do.create()
        assert response.status_code == 200
        with pytest.raises(ValueError):
            response.json()
    assert stats(fresh_emulator)["executions_created"] == 4


def test_slow_answers_trip_a_client_timeout(do, fresh_emulator):
    fresh_emulator.configure("deeporigin", fault_slow=1.0, slow_s=0.5)
    with pytest.raises(requests.Timeout):
        do.http.get(f"{do.base}/tools/{ORG}/clusters", timeout=0.1)


def test_faults_never_touch_the_control_endpoints(fresh_emulator):
    fresh_emulator.configure(fault_5xx=0.5, fault_drop=0.5)
    for _ in range(10):
        fresh_emulator.stats(brief=True)
    assert fresh_emulator.stats()["totals"]["requests"] == 0


def test_settings_reject_unknown_keys_and_rates_over_one(fresh_emulator):
    root = fresh_emulator.url
    bad = ({"fault_5xxx": 0.1}, {"fault_5xx": 0.7, "fault_429": 0.7}, {"duration": "gauss:1"})
    for body in bad:
        assert requests.post(f"{root}/_emulator/config", json=body, timeout=5).status_code == 400
    assert fresh_emulator.config()["deeporigin"]["fault_5xx"] == 0


def test_stats_count_requests_by_endpoint_and_jobs_by_status(do, fresh_emulator):
    do.create_ok(approveAmount=-1)
    do.create_ok({"duration_s": 30, "queue_s": 0})
    do.list()
    after = stats(fresh_emulator)
    create_label = "POST /tools/{org}/tools/{tool_key}/{tool_version}/executions"
    assert after["requests_by_endpoint"][create_label] == 2
    assert after["requests_by_endpoint"]["GET /tools/{org}/tools/executions"] == 1
    assert after["jobs_by_status"] == {"Quoted": 1, "Running": 1}
    assert after["peak_rps"] >= 1 and fresh_emulator.stats()["totals"]["jobs"] == 2


def test_a_file_put_to_a_signed_upload_url_downloads_with_the_same_bytes(do, fresh_emulator):
    content = b"ligand data\n" * 100
    signed = do.http.get(f"{do.base}/files/{ORG}/signedUrl/inputs/a b.sdf?upload=true", timeout=5)
    put = requests.put(signed.json()["url"], data=content, timeout=5,
                       headers={"Content-Type": "application/octet-stream"})
    assert put.status_code == 200
    download_url = do.http.get(f"{do.base}/files/{ORG}/signedUrl/inputs/a b.sdf", timeout=5)
    assert requests.get(download_url.json()["url"], timeout=5).content == content
    stored = stats(fresh_emulator)["files"][f"{ORG}/inputs/a b.sdf"]
    assert stored["sha256"] == hashlib.sha256(content).hexdigest()


def test_a_signed_url_is_refused_when_tampered_with_or_used_for_the_other_method(do):
    url = do.http.get(f"{do.base}/files/{ORG}/signedUrl/x.txt?upload=true", timeout=5).json()["url"]
    assert requests.get(url, timeout=5).status_code == 403
    tampered = url.replace("signature=", "signature=0")
    assert requests.put(tampered, data=b"x", timeout=5).status_code == 403


def test_multipart_upload_direct_download_listing_and_delete(do):
    files_url = f"{do.base}/files/{ORG}"
    one = {"file": ("one.txt", b"1")}
    uploaded = do.http.put(f"{files_url}/dir/sub/one.txt", files=one, timeout=5)
    assert uploaded.status_code == 200 and uploaded.json()["size"] == 1
    do.http.put(f"{files_url}/dir/two.txt", files={"file": ("two.txt", b"22")}, timeout=5)
    assert do.http.get(f"{files_url}/dir/two.txt", timeout=5).content == b"22"

    flat = do.http.get(f"{files_url}/directory/dir/", timeout=5).json()["data"]
    deep = do.http.get(f"{files_url}/directory/dir/", params={"recursive": "true"}, timeout=5)
    assert [row["Key"] for row in flat] == ["dir/two.txt"]
    assert [row["Key"] for row in deep.json()["data"]] == ["dir/sub/one.txt", "dir/two.txt"]

    assert do.http.delete(f"{files_url}/dir/two.txt", timeout=5).json() is True
    assert do.http.delete(f"{files_url}/dir/two.txt", timeout=5).json() is False
    assert do.http.get(f"{files_url}/dir/two.txt", timeout=5).status_code == 404


def test_do_token_restricts_the_accepted_tokens_to_the_listed_ones(tmp_path):
    allowed = make_jwt({"sub": "allowed"})
    with start_emulator(["--do-token", allowed], log_path=tmp_path / "emulator.log") as proc:
        url = f"{proc.control.base_url('deeporigin')}/tools/{ORG}/clusters"
        other = requests.get(url, headers={"Authorization": f"Bearer {make_jwt()}"}, timeout=5)
        assert other.status_code == 401
        ok = requests.get(url, headers={"Authorization": f"Bearer {allowed}"}, timeout=5)
        assert ok.status_code == 200
