"""The whole fleet end to end: real Redis, real worker processes, the emulator over HTTP."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fixtures.fleet import wait_done
from worker.record import make_job_id

pytestmark = pytest.mark.integration


def tool_job(key: str, **emulate) -> dict:
    emulate.setdefault("duration_s", 0.5)
    return {"key": key, "provider": "deeporigin", "kind": "tool",
            "params": {"tool": "deeporigin.docking", "version": "latest",
                       "inputs": {"ligand": key, "_emulator": emulate}}}


def results_by_key(fleet, batch) -> dict[str, dict]:
    return {line["key"]: line for line in fleet.results(batch)}


def test_jobs_run_to_success_with_their_results_stored(fleet, emulator, batch_name):
    before = emulator.stats()["deeporigin"]["executions_created"]
    jobs = [tool_job(f"ok-{i}", duration_s=0.3 + i * 0.1) for i in range(12)]
    batch = fleet.enqueue_batch(jobs, batch=batch_name)
    status = wait_done(fleet, batch)
    assert status["states"]["succeeded"] == 12
    assert emulator.stats()["deeporigin"]["executions_created"] - before == 12
    for line in fleet.results(batch):
        manifest = line["result"]
        assert manifest["data"]["result"]["input_sha256"]
        [stored] = manifest["files"].values()
        assert Path(stored["location"]).read_bytes()
        assert emulator.job("deeporigin", line["remote_id"])["status"] == "Completed"


def test_submitting_the_same_jobs_again_creates_nothing_twice(fleet, emulator, batch_name):
    jobs = [tool_job(f"again-{i}") for i in range(5)]
    before = emulator.stats()["deeporigin"]["executions_created"]
    first = fleet.enqueue_batch(jobs, batch=batch_name)
    wait_done(fleet, first)
    second = fleet.enqueue_batch(jobs, batch=batch_name)
    assert second == first
    assert wait_done(fleet, second)["total"] == 5
    assert emulator.stats()["deeporigin"]["executions_created"] - before == 5


def test_a_remote_failure_fails_the_job_with_the_platform_reason(fleet, batch_name):
    batch = fleet.enqueue_batch(
        [tool_job("bad", outcome="failed", reason="receptor preparation failed"),
         tool_job("good")], batch=batch_name)
    wait_done(fleet, batch)
    lines = results_by_key(fleet, batch)
    assert lines["good"]["state"] == "succeeded"
    assert lines["bad"]["state"] == "failed"
    assert lines["bad"]["reason"] == "remote_failed"
    assert "receptor preparation failed" in lines["bad"]["error"]


def test_cancelling_a_running_batch_cancels_the_remote_jobs(fleet, emulator, batch_name):
    batch = fleet.enqueue_batch([tool_job(f"long-{i}", duration_s=120) for i in range(4)],
                                batch=batch_name)
    wait_for(lambda: fleet.status(batch)["states"]["running"] == 4)
    fleet.cancel(batch=batch)
    status = wait_done(fleet, batch, timeout_s=30)
    assert status["states"]["cancelled"] == 4
    for line in fleet.results(batch):
        assert emulator.job("deeporigin", line["remote_id"])["status"] == "Cancelled"


def test_a_quote_within_the_ceiling_is_confirmed_and_one_above_is_left_unconfirmed(
    fleet, emulator, batch_name
):
    cheap = {**tool_job("cheap", price=1.5), "max_price": 5}
    dear = {**tool_job("dear", price=12), "max_price": 5}
    batch = fleet.enqueue_batch([cheap, dear], batch=batch_name)
    wait_done(fleet, batch)
    lines = results_by_key(fleet, batch)
    assert lines["cheap"]["state"] == "succeeded"
    assert lines["dear"]["state"] == "failed"
    assert lines["dear"]["reason"] == "over_budget"
    assert "12" in lines["dear"]["error"] and "5" in lines["dear"]["error"]
    assert emulator.job("deeporigin", lines["dear"]["remote_id"])["status"] == "Quoted"


def test_a_job_past_its_deadline_is_cancelled_remotely_and_failed(fleet, emulator, batch_name):
    job = {**tool_job("slow", duration_s=300), "deadline_s": 1.5}
    batch = fleet.enqueue_batch([job], batch=batch_name)
    wait_done(fleet, batch, timeout_s=30)
    [line] = fleet.results(batch)
    assert (line["state"], line["reason"]) == ("failed", "deadline")
    assert "deadline of 1.5s passed" in line["error"]
    assert emulator.job("deeporigin", line["remote_id"])["status"] == "Cancelled"


def test_rate_limits_and_server_errors_are_absorbed_without_duplicates(
    fleet, emulator, batch_name
):
    before = emulator.stats()["deeporigin"]["executions_created"]
    emulator.configure("deeporigin", fault_5xx=0.2, fault_429=0.2, retry_after=0.2)
    try:
        batch = fleet.enqueue_batch([tool_job(f"flaky-{i}") for i in range(15)],
                                    batch=batch_name)
        status = wait_done(fleet, batch, timeout_s=90)
    finally:
        emulator.configure("deeporigin", fault_5xx=0, fault_429=0)
    assert status["states"]["succeeded"] == 15
    assert emulator.stats()["deeporigin"]["executions_created"] - before == 15


def test_a_permanent_client_error_fails_the_job_at_once_with_the_platform_message(
    fleet, emulator, batch_name
):
    job = tool_job("rejected", reject={"status": 422, "message": "ligand is not valid SMILES"})
    batch = fleet.enqueue_batch([job, tool_job("fine")], batch=batch_name)
    wait_done(fleet, batch)
    lines = results_by_key(fleet, batch)
    assert lines["fine"]["state"] == "succeeded"
    assert lines["rejected"]["state"] == "failed"
    assert lines["rejected"]["reason"] == "rejected"
    assert "HTTP 422" in lines["rejected"]["error"]
    assert "ligand is not valid SMILES" in lines["rejected"]["error"]


def test_a_job_file_with_malformed_lines_runs_the_good_ones(fleet, tmp_path, fleet_environment):
    good = [tool_job(f"file-{i}") for i in range(3)]
    lines = [json.dumps(good[0]), "{oops", json.dumps({**good[1], "provider": "nowhere"}),
             json.dumps({k: v for k, v in good[2].items() if k != "params"}),
             json.dumps(good[2])]
    path = tmp_path / "jobs.jsonl"
    path.write_text("\n".join(lines) + "\n")
    run = cli(["submit", str(path), "--batch", f"file-{tmp_path.name[-8:]}"], fleet_environment)
    assert run.returncode == 1
    assert f"{path}:line 2: invalid JSON" in run.stderr
    assert f"{path}:line 3: unknown provider 'nowhere'" in run.stderr
    assert f"{path}:line 4: missing field: params" in run.stderr
    batch = run.stdout.strip().splitlines()[-1]
    status = wait_done(fleet, batch)
    assert status["total"] == 2 and status["states"]["succeeded"] == 2
    as_json = json.loads(cli(["status", batch, "--json"], fleet_environment).stdout)
    assert as_json == {
        "batch": batch, "total": 2, "done": True,
        "states": {"queued": 0, "submitting": 0, "running": 0, "succeeded": 2, "failed": 0,
                   "cancelled": 0},
        "jobs": [{"id": make_job_id(batch, k), "key": k, "state": "succeeded"}
                 for k in ("file-0", "file-2")],
    }
    out = tmp_path / "results.jsonl"
    assert cli(["results", batch, "--out", str(out)], fleet_environment).returncode == 0
    rows = [json.loads(r) for r in out.read_text().splitlines()]
    assert [r["key"] for r in rows] == ["file-0", "file-2"]
    assert all(set(r) >= {"key", "provider", "state", "remote_id", "result"} for r in rows)


def cli(args: list[str], env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "producers.cli", *args], env=env,
                          capture_output=True, text=True, timeout=60)


def wait_for(check, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.1)


def test_results_uploaded_as_files_hold_the_stored_bytes_once_each(fleet, emulator, batch_name):
    jobs = [{**tool_job(k), "upload": {"to": "deeporigin"}} for k in ("first", "second")]
    batch = fleet.enqueue_batch(jobs, batch=batch_name)
    wait_done(fleet, batch)
    files = emulator.stats()["deeporigin"]["files"]
    for line in fleet.results(batch):
        assert line["state"] == "succeeded"
        [stored] = line["result"]["files"].values()
        uploads = [f for key, f in files.items() if key.endswith(line["file_id"])]
        assert [f["sha256"] for f in uploads] == [stored["sha256"]]
        assert line["file_id"].startswith(f"jobfleet/uploads/{stored['sha256']}/")


def test_the_cli_waits_times_out_cancels_and_says_when_nothing_is_left(
    fleet, tmp_path, fleet_environment, emulator
):
    path = tmp_path / "long.jsonl"
    path.write_text("\n".join(json.dumps(tool_job(f"long-{i}", duration_s=120))
                              for i in range(3)) + "\n")
    batch = cli(["submit", str(path), "--batch", f"cli-{tmp_path.name[-8:]}"],
                fleet_environment).stdout.strip().splitlines()[-1]
    timed_out = cli(["wait", batch, "--timeout", "1"], fleet_environment)
    assert timed_out.returncode == 3
    assert "timed out with 3 job(s) unfinished" in timed_out.stderr
    wait_for(lambda: fleet.status(batch)["states"]["running"] == 3)
    assert cli(["cancel", batch], fleet_environment).stdout.strip() == "cancellation requested"
    assert cli(["wait", batch, "--timeout", "30"], fleet_environment).returncode == 0
    assert fleet.status(batch)["states"]["cancelled"] == 3
    again = cli(["cancel", batch], fleet_environment)
    assert again.stdout.strip() == f"{batch}: every job has already ended; nothing to cancel"
    [first, *_] = list(fleet.results(batch))
    one = cli(["cancel", "--job", make_job_id(batch, first["key"])], fleet_environment)
    assert one.stdout.strip().endswith("already cancelled; nothing to cancel")


def test_cancelling_one_job_leaves_the_rest_of_its_batch_running(fleet, emulator, batch_name):
    batch = fleet.enqueue_batch([tool_job("stop-me", duration_s=120),
                                 tool_job("let-me", duration_s=3)], batch=batch_name)
    wait_for(lambda: fleet.status(batch)["states"]["running"] == 2)
    fleet.cancel(job_ids=[make_job_id(batch, "stop-me")])
    wait_done(fleet, batch, timeout_s=30)
    lines = results_by_key(fleet, batch)
    assert lines["stop-me"]["state"] == "cancelled"
    assert emulator.job("deeporigin", lines["stop-me"]["remote_id"])["status"] == "Cancelled"
    assert lines["let-me"]["state"] == "succeeded"
