"""The /jobsapi emulator over real HTTP: its own shapes, idempotency keys, cursor pages,
artifacts, per-credential isolation, and the shared faults and stats."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
import requests

from emulator.control import EmulatorControl

pytestmark = pytest.mark.integration

KEY = "ja-key-one"
FAST = {"duration_s": 0.1, "queue_s": 0.05}


class Api:
    """A bare requests client for the jobs API, so the tests read the wire as it is."""

    def __init__(self, base: str, key: str | None = KEY) -> None:
        self.base = f"{base}/v2"
        self.session = requests.Session()
        if key:
            self.session.headers["X-API-Key"] = key

    def create(self, body: dict[str, Any], key: str | None = None) -> requests.Response:
        headers = {"Idempotency-Key": key} if key else {}
        return self.session.post(f"{self.base}/tasks", json=body, headers=headers, timeout=5)

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.session.get(f"{self.base}{path}", params=params, timeout=5)

    def post(self, path: str) -> requests.Response:
        return self.session.post(f"{self.base}{path}", timeout=5)


def task(ref: str, emulate: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"template": "align", "input": {"ref": ref, "_emulator": emulate or FAST}}


def wait_condition(api: Api, token: str, wanted: str, timeout_s: float = 5.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        record = api.get(f"/tasks/{token}").json()["task"]
        if record["condition"] == wanted or time.monotonic() > deadline:
            return record
        time.sleep(0.03)


@pytest.fixture
def api(fresh_emulator: EmulatorControl) -> Api:
    return Api(fresh_emulator.base_url("jobsapi"))


def test_a_task_runs_from_accepted_to_done_and_serves_its_artifacts(api):
    created = api.create(task("a"))
    assert created.status_code == 202
    record = created.json()["task"]
    assert record["token"].startswith("tsk_") and record["condition"] == "accepted"
    assert isinstance(record["submitted_at"], int)  # epoch milliseconds
    assert api.get(f"/tasks/{record['token']}/artifacts").status_code == 409
    done = wait_condition(api, record["token"], "done")
    assert done["condition"] == "done" and done["ended_at"] >= done["submitted_at"]
    artifacts = api.get(f"/tasks/{record['token']}/artifacts").json()["artifacts"]
    assert artifacts["summary"]["template"] == "align"
    (listed,) = artifacts["files"]
    body = api.get(listed["href"].removeprefix("/v2")).json()
    assert body["token"] == record["token"] and body["score"] == artifacts["summary"]["score"]


def test_a_failed_task_is_errored_with_the_planned_reason(api):
    token = api.create(task("f", {**FAST, "outcome": "failed", "reason": "bad input"})).json()[
        "task"]["token"]
    record = wait_condition(api, token, "errored")
    assert record["problem"] == {"reason": "bad input"}


def test_an_idempotency_key_replays_the_same_task_and_refuses_another_body(api, fresh_emulator):
    first = api.create(task("k"), key="job-1")
    again = api.create(task("k"), key="job-1")
    other = api.create(task("other"), key="job-1")
    assert (first.status_code, again.status_code, other.status_code) == (202, 200, 422)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["task"]["token"] == first.json()["task"]["token"]
    assert other.json()["error"]["code"] == "idempotency_mismatch"
    stats = fresh_emulator.stats()["jobsapi"]
    assert stats["tasks_created"] == 1 and stats["creations_by_tag"] == {"job-1": 1}


def test_abort_stops_a_running_task_and_is_a_409_once_it_has_ended(api):
    token = api.create(task("c", {"duration_s": 60, "queue_s": 0})).json()["task"]["token"]
    assert api.post(f"/tasks/{token}/abort").json()["task"]["condition"] == "aborted"
    refused = api.post(f"/tasks/{token}/abort")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "already_ended"


def test_the_listing_pages_by_cursor_in_submission_order_and_filters(api):
    tokens = [api.create(task(f"l{i}"), key=f"key-{i}").json()["task"]["token"]
              for i in range(5)]
    seen, cursor = [], None
    while True:
        page = api.get("/tasks", limit=2, **({"cursor": cursor} if cursor else {})).json()
        seen += [row["token"] for row in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == tokens
    picked = api.get("/tasks", token=",".join(tokens[3:] + ["tsk_0000"])).json()["items"]
    assert [row["token"] for row in picked] == tokens[3:]
    by_key = api.get("/tasks", idempotency_key="key-2").json()["items"]
    assert [row["token"] for row in by_key] == [tokens[2]]
    assert api.get("/tasks", condition="done,aborted").json()["items"] == []


@pytest.mark.parametrize(("query", "message"), [
    ({"limit": 0}, "limit must be an integer 1-100"),
    ({"cursor": "bm9wZQ"}, "cursor is not one this API issued"),
    ({"condition": "finished"}, "unknown condition(s): finished"),
])
def test_a_bad_listing_query_is_a_400_naming_the_parameter(api, query, message):
    answer = api.get("/tasks", **query)
    assert answer.status_code == 400 and answer.json()["error"]["message"] == message


@pytest.mark.parametrize(("body", "message"), [
    ({"input": {}}, "template must be a non-empty string"),
    ({"template": "t", "input": []}, "input must be an object"),
    ({"template": "t", "input": {}, "priority": 12}, "priority must be an integer 0-9"),
    ({"template": "t", "input": {}, "owner": "x"}, "unknown field(s): owner"),
])
def test_a_bad_create_is_a_400_and_creates_nothing(api, fresh_emulator, body, message):
    answer = api.create(body)
    assert answer.status_code == 400 and answer.json()["error"]["message"] == message
    assert fresh_emulator.stats()["jobsapi"]["tasks_created"] == 0


def test_a_key_sees_only_its_own_tasks_and_no_key_is_a_401(fresh_emulator, api):
    token = api.create(task("mine")).json()["task"]["token"]
    stranger = Api(fresh_emulator.base_url("jobsapi"), key="someone-else")
    assert stranger.get(f"/tasks/{token}").status_code == 404
    assert stranger.get("/tasks").json()["items"] == []
    anonymous = Api(fresh_emulator.base_url("jobsapi"), key=None)
    refused = anonymous.get("/tasks")
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthenticated"
    assert anonymous.get("/health").json() == {"ok": True}  # the one open route


def test_faults_and_per_credential_stats_apply_as_on_every_platform(api, fresh_emulator):
    fresh_emulator.configure("jobsapi", fault_5xx=1.0)
    assert api.create(task("x")).status_code in (500, 502, 503)
    fresh_emulator.configure("jobsapi", fault_5xx=0.0)
    api.create(task(f"y-{uuid.uuid4()}"))
    stats = fresh_emulator.stats()["jobsapi"]
    assert stats["faults"]["5xx"] == 1 and stats["tasks_created"] == 1
    (credential,) = [c for c in stats["requests_by_credential"] if c != "anonymous"]
    assert credential.startswith("cred-") and KEY not in str(stats)
    assert stats["peak_running_by_credential"][credential] == 1


def test_the_listing_filters_by_one_label(api):
    tagged = api.create({**task("t"), "labels": {"jobfleet": "job-7"}}).json()["task"]["token"]
    api.create({**task("u"), "labels": {"jobfleet": "job-8"}})
    rows = api.get("/tasks", label="jobfleet:job-7").json()["items"]
    assert [row["token"] for row in rows] == [tagged]
    assert api.get("/tasks", label="jobfleet").status_code == 400
