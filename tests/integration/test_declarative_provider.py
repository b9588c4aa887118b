"""The declarative provider, driven only by examples/providers/jobsapi.toml, against the
/jobsapi emulator over real HTTP: runs, outputs, cancel, bulk status, at-most-once creation.

Faults are scripted per attempt (``ScriptedOutage``), so "the create was processed but its
answer was lost" happens exactly where a test wants it.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from config.declarative import SpecSettings
from emulator.control import EmulatorControl
from tests.fixtures.providers import ScriptedOutage, wait_terminal
from worker.errors import AuthError, BadResponse, ConfigError, TransientError
from worker.providers.declarative import load_specs, platform_spec
from worker.providers.types import JobSpec, RemoteState

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "providers"
SPEC = load_specs(EXAMPLES)["jobsapi"]
KEY = "ja-secret-key-0123456789"
FAST = {"duration_s": 0.15, "queue_s": 0.05}
LONG = {"duration_s": 60.0, "queue_s": 0.0}


def make(base_url: str, spec=SPEC, key: str | None = KEY, **resources: Any):
    settings = SpecSettings(base_url=base_url, secret=SecretStr(key) if key else None)
    return platform_spec(spec).make(settings, timeout_s=5.0, **resources)


def job(emulate: dict[str, Any], **params: Any) -> JobSpec:
    params = {"template": "align", "input": {"seq": "MKV", "_emulator": emulate}} | params
    return JobSpec(job_id=f"job-{uuid.uuid4()}", kind="task", params=params)


@pytest.fixture
def provider(fresh_emulator: EmulatorControl):
    made = make(fresh_emulator.base_url("jobsapi"))
    yield made
    made.close()


def test_a_task_runs_and_its_summary_and_report_file_come_back(provider, fresh_emulator):
    submission = provider.submit(job(FAST, priority=3))
    assert submission.status.state is RemoteState.PENDING
    status = wait_terminal(provider, submission.remote_id, "task")
    assert (status.state, status.raw) == (RemoteState.SUCCEEDED, "done")
    outputs = provider.fetch_outputs(submission.remote_id, "task", status)
    assert outputs.data["template"] == "align" and outputs.data["remote_id"] == submission.remote_id
    assert set(outputs.files) == {"report.json"}
    assert b'"score"' in outputs.files["report.json"]
    record = fresh_emulator.job("jobsapi", submission.remote_id)
    assert record["idempotency_key"].startswith("job-")


def test_a_failed_task_carries_the_platforms_reason(provider):
    submission = provider.submit(job({**FAST, "outcome": "failed", "reason": "no such chain"}))
    status = wait_terminal(provider, submission.remote_id, "task")
    assert (status.state, status.detail) == (RemoteState.FAILED, "no such chain")


def test_cancel_aborts_a_running_task_and_is_quiet_for_an_ended_one(provider):
    running = provider.submit(job(LONG)).remote_id
    provider.cancel(running, "task")
    assert provider.status(running, "task").state is RemoteState.CANCELLED
    provider.cancel(running, "task")  # the API answers 409 already_ended: not an error


def test_a_create_whose_answer_is_lost_is_retried_under_its_key_and_made_once(fresh_emulator):
    outage = ScriptedOutage(fresh_emulator, "jobsapi")
    provider = make(fresh_emulator.base_url("jobsapi"), before_request=outage, sleep=lambda s: None)
    outage.arm({"fault_drop": 1.0}, {"fault_drop": 0.0})
    submission = provider.submit(job(LONG))
    stats = fresh_emulator.stats()["jobsapi"]
    assert stats["tasks_created"] == 1 and stats["faults"]["drop"] == 1
    assert fresh_emulator.job("jobsapi", submission.remote_id)["phase"] == "running"


def test_after_a_lost_create_find_adopts_the_task_by_its_key_and_nothing_is_made_twice(
        fresh_emulator):
    outage = ScriptedOutage(fresh_emulator, "jobsapi")
    provider = make(fresh_emulator.base_url("jobsapi"), before_request=outage, retries=0)
    spec = job(FAST)
    outage.arm({"fault_drop": 1.0}, {"fault_drop": 0.0})
    with pytest.raises(TransientError):
        provider.submit(spec)
    found = provider.find(spec)
    assert found is not None
    assert fresh_emulator.job("jobsapi", found.remote_id)["idempotency_key"] == spec.job_id
    assert provider.find(job(FAST)) is None  # a job never created is not found
    assert fresh_emulator.stats()["jobsapi"]["tasks_created"] == 1


def test_without_a_find_section_the_key_settles_a_lost_create_by_sending_it_again(
        fresh_emulator):
    spec = dataclasses.replace(SPEC, find=None)
    provider = make(fresh_emulator.base_url("jobsapi"), spec=spec)
    first = provider.submit(job_spec := job(FAST))
    assert provider.find(job_spec).remote_id == first.remote_id
    assert fresh_emulator.stats()["jobsapi"]["tasks_created"] == 1


def test_bulk_status_asks_a_hundred_ids_a_request_and_reports_strangers_one_by_one(
        provider, fresh_emulator):
    ids = [provider.submit(job(LONG)).remote_id for _ in range(120)]
    before = fresh_emulator.stats()["jobsapi"]["requests_by_endpoint"]
    statuses = provider.bulk_status([(i, "task") for i in ids] + [("tsk_0000", "task")])
    after = fresh_emulator.stats()["jobsapi"]["requests_by_endpoint"]
    assert after["GET /v2/tasks"] - before.get("GET /v2/tasks", 0) == 2
    assert all(statuses[i].state is RemoteState.RUNNING for i in ids)
    assert isinstance(statuses["tsk_0000"], Exception) and "404" in str(statuses["tsk_0000"])


def test_a_status_value_the_spec_does_not_map_is_a_bad_response_quoting_the_answer(
        fresh_emulator):
    spec = dataclasses.replace(SPEC, states={k: v for k, v in SPEC.states.items()
                                             if k != "in_progress"})
    provider = make(fresh_emulator.base_url("jobsapi"), spec=spec)
    remote_id = provider.submit(job({"duration_s": 60.0, "queue_s": 0.2})).remote_id
    time.sleep(0.3)
    with pytest.raises(BadResponse, match="unknown status 'in_progress' in the status answer"):
        provider.status(remote_id, "task")


def test_a_missing_key_names_the_variable_it_is_read_from(fresh_emulator):
    with pytest.raises(ConfigError, match=r"^JOBSAPI_API_KEY is not set; jobsapi \(spec"):
        make(fresh_emulator.base_url("jobsapi"), key=None)


def test_a_wrong_key_is_an_auth_error_without_the_key_in_it(tmp_path):
    from emulator.control import start_emulator

    with start_emulator(["--ja-api-key", KEY], log_path=tmp_path / "emu.log") as emulator:
        provider = make(emulator.control.base_url("jobsapi"), key="not-" + KEY)
        with pytest.raises(AuthError) as caught:
            provider.submit(job(FAST))
        assert "401" in str(caught.value) and KEY not in str(caught.value)


def test_a_status_sweep_walks_the_listing_by_ids_a_hundred_a_request(provider, fresh_emulator):
    from types import SimpleNamespace

    ids = [provider.submit(job(LONG)).remote_id for _ in range(150)]
    watched = [SimpleNamespace(remote_id=i, kind="task", since=0.0) for i in ids]
    before = fresh_emulator.stats()["jobsapi"]["requests_by_endpoint"].get("GET /v2/tasks", 0)
    pages = list(provider.sweep(watched))
    after = fresh_emulator.stats()["jobsapi"]["requests_by_endpoint"]["GET /v2/tasks"]
    assert after - before == len(pages) == 2
    seen = {remote_id: status.state for page in pages for remote_id, status in page}
    assert seen == {i: RemoteState.RUNNING for i in ids}
    assert provider.spec.capabilities.bulk_list


def test_a_status_answer_about_another_job_is_a_bad_response(fresh_emulator):
    status = dataclasses.replace(SPEC.status, id="task.template")  # never the token asked for
    provider = make(fresh_emulator.base_url("jobsapi"), spec=dataclasses.replace(SPEC,
                                                                                 status=status))
    remote_id = provider.submit(job(LONG)).remote_id
    with pytest.raises(BadResponse, match=f"asked for {remote_id}, got another job"):
        provider.status(remote_id, "task")


def tag_spec(tmp_path: Path):
    """The example, described as a tag API: our job id in a label, found by a label filter."""
    text = (EXAMPLES / "jobsapi.toml").read_text()
    text = text.replace('at_most_once = "idempotency-key"\nidempotency_header = "Idempotency-Key"',
                        'at_most_once = "tag"')
    text = text.replace('labels = "{params.labels?}" }', 'labels = { jobfleet = "{job_id}" } }')
    text = text.replace('query = { idempotency_key = "{job_id}" }\ntag = "idempotency_key"',
                        'query = { label = "jobfleet:{job_id}" }\ntag = "labels.jobfleet"')
    (tmp_path / "tagged.toml").write_text(text)
    return load_specs(tmp_path)["jobsapi"]


def test_a_tag_api_sends_the_create_once_and_finds_a_lost_one_by_its_tag(fresh_emulator,
                                                                         tmp_path):
    spec = tag_spec(tmp_path)
    assert spec.create.at_most_once == "tag"
    outage = ScriptedOutage(fresh_emulator, "jobsapi")
    provider = make(fresh_emulator.base_url("jobsapi"), spec=spec, before_request=outage,
                    sleep=lambda s: None)
    lost = job(FAST)
    outage.arm({"fault_drop": 1.0}, {"fault_drop": 0.0})
    with pytest.raises(TransientError):
        provider.submit(lost)  # not retried: without a key a retry could run it twice
    found = provider.find(lost)
    assert found is not None
    assert fresh_emulator.job("jobsapi", found.remote_id)["labels"] == {"jobfleet": lost.job_id}
    assert provider.find(job(FAST)) is None
    assert fresh_emulator.stats()["jobsapi"]["tasks_created"] == 1


def test_the_apis_polling_hint_is_read_in_seconds(provider):
    running = provider.submit(job(LONG)).remote_id
    assert provider.status(running, "task").poll_hint == 5.0  # the API's cap, 5,000 ms
    short = provider.submit(job(FAST)).remote_id
    assert 0 <= provider.status(short, "task").poll_hint <= 0.2
    assert wait_terminal(provider, short, "task").poll_hint is None
