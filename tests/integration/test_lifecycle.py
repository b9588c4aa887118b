"""A batch's life through the CLI: listed, retried (never a second remote job), forgotten at
once, and forgotten by retention. Real fleets of their own on a private emulator."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from emulator.samples import sample_job
from tests.fixtures.fleet import private_fleet, wait_done

pytestmark = pytest.mark.integration

# Long enough that the checks right after the batch ends come before any of it expires, on a
# busy machine too (its jobs end a few seconds apart); the test then waits for the retention.
RETENTION_S = 7


def cli(args: list[str], env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "producers.cli", *args], env=env,
                          capture_output=True, text=True, timeout=180)


def created(emulator, provider: str) -> int:
    return emulator.stats()[provider]["jobs_created"]


@pytest.fixture(scope="module")
def lifecycle_fleet(private_emulator, tmp_path_factory):
    with private_fleet(private_emulator, tmp_path_factory.mktemp("lifecycle"), workers=1,
                       JOBFLEET_MAX_STEP_ERRORS="2") as fleet:
        yield fleet


def test_retry_runs_failed_jobs_again_but_never_beside_a_remote_job_that_may_run(
    lifecycle_fleet, private_emulator
):
    api, pool = lifecycle_fleet
    before = {p: created(private_emulator, p) for p in ("deeporigin", "openprotein")}
    private_emulator.configure("deeporigin", fault_5xx=1.0)
    try:
        jobs = [sample_job(f"dock-{i}", "deeporigin", "tool", duration_s=0.3) for i in range(3)]
        jobs.append(sample_job("msa-late", "openprotein", "msa", duration_s=60, deadline_s=1))
        batch = api.enqueue_batch(private_emulator.plan_jobs(jobs), batch="retry-me")
        wait_done(api, batch, timeout_s=60)
    finally:
        private_emulator.restore_defaults("deeporigin")
    assert api.status(batch)["states"]["failed"] == 4
    assert created(private_emulator, "deeporigin") == before["deeporigin"]
    none = cli(["retry", batch, "--reason", "no-such-reason"], pool.env)
    assert none.returncode == 0 and "no failed jobs with reason no-such-reason" in none.stderr
    run = cli(["retry", batch], pool.env)
    assert run.returncode == 1, run.stderr
    assert "3 failed job(s) started again" in run.stderr
    assert "1 job(s) not retried: their remote job may still be running" in run.stderr
    wait_done(api, batch, timeout_s=60)
    lines = {line["key"]: line for line in api.results(batch)}
    for i in range(3):
        assert lines[f"dock-{i}"]["state"] == "succeeded"
        assert lines[f"dock-{i}"]["attempt"] == 2
    assert lines["msa-late"]["state"] == "failed" and lines["msa-late"]["reason"] == "deadline"
    assert created(private_emulator, "deeporigin") == before["deeporigin"] + 3
    assert created(private_emulator, "openprotein") == before["openprotein"] + 1


def test_batches_lists_and_forget_refuses_live_jobs_unless_cancelled(
    lifecycle_fleet, private_emulator
):
    api, pool = lifecycle_fleet
    jobs = [sample_job("quick", "openprotein", "msa", duration_s=0.3),
            sample_job("slow", "deeporigin", "tool", duration_s=300)]
    batch = api.enqueue_batch(private_emulator.plan_jobs(jobs), batch="forget-me")
    deadline = time.monotonic() + 30
    while api.status(batch)["states"]["succeeded"] < 1 and time.monotonic() < deadline:
        time.sleep(0.2)
    listed = {row["batch"]: row for row in map(json.loads, cli(["batches", "--json"],
                                                               pool.env).stdout.splitlines())}
    assert listed[batch]["total"] == 2 and listed[batch]["done"] is False
    table = cli(["batches"], pool.env).stdout
    assert any(line.startswith("forget-me ") and line.endswith(" no")
               for line in table.splitlines())
    [quick] = [line for line in api.results(batch) if line["key"] == "quick"]
    [stored] = quick["result"]["files"].values()
    refused = cli(["forget", batch], pool.env)
    assert refused.returncode == 1
    assert refused.stderr.strip() == ("jobfleet: not forgotten: batch 'forget-me' has 1 job(s) "
                                      "not yet ended; add --cancel to cancel them first")
    done = cli(["forget", batch, "--cancel"], pool.env)
    assert done.returncode == 0, done.stderr
    assert "forgotten (2 job(s)" in done.stderr
    gone = cli(["status", batch], pool.env)
    assert gone.returncode == 1 and "unknown batch" in gone.stderr
    assert not any(batch in key or quick["id"] in key
                   for key in api.store.redis.scan_iter("jf:*"))
    assert not any(api.store.redis.scan_iter(f"jf:remote:*:{quick['remote_id']}"))
    assert not Path(stored["location"]).exists()
    assert batch not in cli(["batches"], pool.env).stdout


def test_after_the_retention_the_store_holds_nothing_of_the_batch(private_emulator, tmp_path):
    env = {"JOBFLEET_RETENTION_DAYS": repr(RETENTION_S / 86400)}
    with private_fleet(private_emulator, tmp_path, workers=1, **env) as (api, pool):
        jobs = [sample_job("kept-a", "deeporigin", "tool", duration_s=0.3),
                sample_job("kept-b", "moderately", "agent", duration_s=0.3),
                sample_job("kept-c", "openprotein", "embed", duration_s=0.3,
                           outcome="failed", reason="told to fail")]
        batch = api.enqueue_batch(private_emulator.plan_jobs(jobs), batch="short-lived")
        wait_done(api, batch, timeout_s=60)
        done_at = time.monotonic()
        lines = list(api.results(batch))
        assert len(lines) == 3
        marks = [batch, *(line["id"] for line in lines),
                 *(line["remote_id"] for line in lines)]
        redis = api.store.redis
        stored = [entry["location"] for line in lines if line["state"] == "succeeded"
                  for entry in line["result"]["files"].values()]
        assert stored and all(Path(at).is_file() for at in stored)

        def leftovers() -> list[str]:
            found = [k for k in redis.scan_iter("jf:*") if any(m in k for m in marks)]
            found += [k for k in redis.scan_iter("jf:remote:*") if redis.get(k) in marks]
            for index in ("jf:batches", "jf:retention:batches", "jf:retention:files:due"):
                found += [f"{index} member" for m in marks if redis.zscore(index, m) is not None]
            found += [f"held files of {m}" for m in marks if redis.hexists("jf:retention:files", m)]
            found += [f"file {at}" for at in stored if Path(at).exists()]
            return found

        assert leftovers(), (f"nothing held {time.monotonic() - done_at:.1f}s after the batch "
                             f"was done, with a retention of {RETENTION_S}s")
        # Expired within RETENTION_S, then gone at the janitor's next round (one a retention).
        deadline = time.monotonic() + 2 * RETENTION_S + 30
        while leftovers() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert leftovers() == []
        assert not any(int(n) for n in redis.hgetall("jf:counts").values())
        assert "unknown batch" in cli(["status", batch], pool.env).stderr
