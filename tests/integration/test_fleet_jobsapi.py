"""The acceptance of the declarative provider, run as a user would: 200 jobs in the shape
of examples/jobsapi-jobs.jsonl through ``jobfleet submit`` with
``JOBFLEET_PROVIDERS_DIR=examples/providers``, on real workers, against /jobsapi.

The jobs API exists for the fleet only through the spec file: no Python names it. The
emulator must show exactly one remote task per job, also after the same file is submitted
again; the jobs that upload their report do so once. A bad spec stops ``submit`` and the
worker at start-up with one line naming the file and the field.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devtools.localfleet import REPO, EmulatorCredentials
from tests.fixtures.fleet import private_fleet
from tests.fixtures.pace import beyond, requests_with, sampled

pytestmark = pytest.mark.integration

EXAMPLE_JOBS = REPO / "examples" / "jobsapi-jobs.jsonl"
JOBS = 200
JOBFLEET = [sys.executable, "-m", "producers.cli"]


def jobs_like_the_example(n: int) -> list[dict]:
    """``n`` jobs cycling through the example's lines, each with its own key and a short run."""
    shapes = [json.loads(line) for line in EXAMPLE_JOBS.read_text().splitlines() if line]
    jobs = []
    for i in range(n):
        job = json.loads(json.dumps(shapes[i % len(shapes)]))
        job["key"] = f"{job['key']}-{i:03d}"
        job["params"]["input"]["copy"] = i  # every payload its own: a repeat would show
        job["params"]["input"]["_emulator"] = {"duration_s": 0.5 + (i % 7) / 10, "queue_s": 0.1}
        jobs.append(job)
    return jobs


def cli(env: dict, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([*JOBFLEET, *args], env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="module")
def run(private_emulator, tmp_path_factory):
    """Submits the 200-job file, waits, submits it again; yields what a test checks."""
    private_emulator.reset()
    root = tmp_path_factory.mktemp("jobsapi-fleet")
    path = root / "jobsapi-200.jsonl"
    jobs = jobs_like_the_example(JOBS)
    path.write_text("".join(json.dumps(job) + "\n" for job in jobs))
    with private_fleet(private_emulator, root, workers=2,
                       JOBFLEET_PROVIDERS_DIR=str(REPO / "examples" / "providers")) as (api, pool):
        submitted = cli(pool.env, "submit", str(path))
        batch = submitted.stdout.strip().splitlines()[-1]
        waited = cli(pool.env, "wait", batch, "--timeout", "240")
        first = private_emulator.stats()["jobsapi"]
        again = cli(pool.env, "submit", str(path))
        time.sleep(2)  # room for anything the second submit might (wrongly) set off
        yield {"jobs": jobs, "batch": batch, "api": api, "submitted": submitted,
               "waited": waited, "again": again, "first": first,
               "second": private_emulator.stats()["jobsapi"],
               "moderately": private_emulator.stats()["moderately"],
               "results": list(api.results(batch)), "logs": pool.logs()}


def test_every_job_of_the_file_succeeds_through_the_spec_file_alone(run):
    assert run["submitted"].returncode == 0, run["submitted"].stderr
    assert run["waited"].returncode == 0, run["waited"].stdout[-2000:] + run["logs"][-3000:]
    states = {line["key"]: line["state"] for line in run["results"]}
    assert len(states) == JOBS
    assert set(states.values()) == {"succeeded"}, {
        line["key"]: line.get("error") for line in run["results"] if line["state"] != "succeeded"}


def test_the_emulator_made_exactly_one_task_per_job_also_after_a_second_submit(run):
    assert run["first"]["tasks_created"] == JOBS
    assert run["second"]["tasks_created"] == JOBS
    assert run["second"]["duplicate_tags"] == 0 and run["second"]["duplicate_payloads"] == 0
    assert run["again"].returncode == 0, run["again"].stderr


def test_each_result_holds_the_tasks_summary_and_its_report_file(run):
    line = next(line for line in run["results"] if line["key"].startswith("align-001"))
    manifest = line["result"]
    assert manifest["data"]["template"] == "align"
    assert manifest["data"]["remote_id"] == line["remote_id"]
    assert "report.json" in manifest["files"]


def test_the_reports_marked_for_upload_reached_moderately_once_each(run):
    uploaded = [line for line in run["results"] if line.get("file_id")]
    assert len(uploaded) == sum(1 for job in run["jobs"] if "upload" in job) > 0
    assert run["moderately"]["duplicate_uploads"] == 0


def test_the_jobsapi_key_is_in_no_log(run):
    assert EmulatorCredentials().ja_api_key not in run["logs"]


def bad_spec_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "providers"
    directory.mkdir()
    text = (REPO / "examples" / "providers" / "jobsapi.toml").read_text()
    (directory / "jobsapi.toml").write_text(text.replace('done = "succeeded"', 'done = "ok"'))
    return directory


def test_a_bad_spec_stops_submit_and_the_worker_with_one_line(tmp_path, redis_server):
    directory = bad_spec_dir(tmp_path)
    env = {**_plain_env(redis_server.url), "JOBFLEET_PROVIDERS_DIR": str(directory)}
    expected = (f"{directory / 'jobsapi.toml'}: states.done: must be one of pending, quoted, "
                "running, succeeded, failed, cancelled, got 'ok'")
    for args in (("submit", str(EXAMPLE_JOBS)), ("worker", "--pool=solo")):
        done = cli(env, *args, timeout=60)
        assert done.returncode != 0
        assert done.stderr.strip().splitlines() == [f"jobfleet: {expected}"], done.stderr


def _plain_env(redis_url: str) -> dict:
    import os

    return {**os.environ, "JOBFLEET_REDIS_URL": redis_url, "PYTHONPATH": str(REPO)}


def no_key_spec_dir(tmp_path: Path) -> Path:
    """The same API described without its Idempotency-Key: creation can only be sent once."""
    directory = tmp_path / "nokey"
    directory.mkdir()
    text = (REPO / "examples" / "providers" / "jobsapi.toml").read_text()
    text = text.replace('name = "jobsapi"', 'name = "jobsnokey"')
    text = text.replace('at_most_once = "idempotency-key"\nidempotency_header = "Idempotency-Key"',
                        'at_most_once = "none"')
    (directory / "jobsnokey.toml").write_text(text[:text.index("\n[find]\n")])
    return directory


def test_without_a_key_a_lost_create_fails_submit_unknown_and_is_never_sent_twice(
        private_emulator, tmp_path, run):
    directory = no_key_spec_dir(tmp_path)
    before = private_emulator.stats()["jobsapi"]["tasks_created"]
    jobs = [{**job, "provider": "jobsnokey", "key": f"nokey-{i}"}
            for i, job in enumerate(jobs_like_the_example(4))]
    path = tmp_path / "nokey.jsonl"
    path.write_text("".join(json.dumps(job) + "\n" for job in jobs))
    private_emulator.configure("jobsapi", fault_drop=1.0)  # every answer lost, work done
    try:
        with private_fleet(private_emulator, tmp_path / "fleet", workers=1,
                           JOBFLEET_PROVIDERS_DIR=str(directory)) as (api, pool):
            batch = cli(pool.env, "submit", str(path)).stdout.strip().splitlines()[-1]
            waited = cli(pool.env, "wait", batch, "--timeout", "120")
            lines = list(api.results(batch))
    finally:
        private_emulator.configure("jobsapi", fault_drop=0.0)
    assert waited.returncode == 0, waited.stdout[-2000:]
    assert {(line["state"], line["reason"]) for line in lines} == {("failed", "submit_unknown")}
    created = private_emulator.stats()["jobsapi"]["tasks_created"] - before
    assert created == len(jobs)  # each create reached the API once; none was sent again


def test_fleet_wide_limits_hold_for_a_spec_file_platform(private_emulator, tmp_path, run):
    from emulator.credentials import credential_label

    credentials = EmulatorCredentials(ja_api_key="limits-test-key")
    label = credential_label("key", credentials.ja_api_key)
    jobs = [{**job, "key": f"limited-{i}"} for i, job in enumerate(jobs_like_the_example(24))]
    path = tmp_path / "limited.jsonl"
    path.write_text("".join(json.dumps(job) + "\n" for job in jobs))
    with private_fleet(private_emulator, tmp_path / "fleet", workers=2, credentials=credentials,
                       JOBFLEET_JOBSAPI_MAX_IN_FLIGHT="4", JOBFLEET_JOBSAPI_RPS="10",
                       JOBFLEET_JOBSAPI_BURST="5") as (api, pool):
        with sampled(requests_with(private_emulator, "jobsapi", label)) as seen:
            batch = cli(pool.env, "submit", str(path)).stdout.strip().splitlines()[-1]
            waited = cli(pool.env, "wait", batch, "--timeout", "120")
        states = {line["state"] for line in api.results(batch)}
    assert waited.returncode == 0 and states == {"succeeded"}, waited.stdout[-2000:]
    stats = private_emulator.stats()["jobsapi"]
    assert 1 <= stats["peak_running_by_credential"][label] <= 4
    assert not beyond(seen, 10, 5), "more than 5 + 10/s so far (s, requests)"
