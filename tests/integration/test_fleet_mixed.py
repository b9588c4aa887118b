"""All three platforms in one batch, with results uploaded as files to another platform."""

from __future__ import annotations

import hashlib
import json

import pytest

from emulator.samples import KINDS, sample_job
from tests.fixtures.fleet import private_fleet, wait_done

pytestmark = pytest.mark.integration


def by_key(fleet, batch) -> dict[str, dict]:
    return {line["key"]: line for line in fleet.results(batch)}


def stored_sha256s(line: dict) -> set[str]:
    """SHA-256 of every byte string this job's result stored (files, or the data document)."""
    manifest = line["result"]
    found = {f["sha256"] for f in manifest["files"].values()}
    document = json.dumps(manifest["data"], sort_keys=True, indent=1).encode()
    return found | {hashlib.sha256(document).hexdigest()}


def test_every_kind_runs_to_the_outcome_the_platform_decided(fleet, emulator, batch_name):
    jobs = []
    for i, (provider, kind) in enumerate(KINDS * 3):
        failing = i % 4 == 3
        jobs.append(sample_job(f"{kind}-{i}", provider, kind, duration_s=0.4,
                               outcome="failed" if failing else "succeeded",
                               reason="told to fail" if failing else None))
    batch = fleet.enqueue_batch(emulator.plan_jobs(jobs), batch=batch_name)
    wait_done(fleet, batch, timeout_s=60)
    for job, line in zip(jobs, fleet.results(batch)):
        decided = emulator.job(job["provider"], line["remote_id"])["outcome"]
        assert line["state"] == decided, line
        if decided == "failed":
            assert line["reason"] == "remote_failed" and "told to fail" in line["error"]
        else:
            assert line["result"]["data"]


def test_an_msa_uploaded_to_moderately_is_stored_there_once(fleet, emulator, batch_name):
    chain = [sample_job(f"msa-{i}", "openprotein", "msa", duration_s=0.3,
                        upload={"to": "moderately"}) for i in range(3)]
    twin = {**chain[0], "key": "msa-twin"}  # same sequence: same MSA bytes
    batch = fleet.enqueue_batch(emulator.plan_jobs([*chain, twin]), batch=batch_name)
    wait_done(fleet, batch, timeout_s=60)
    lines = by_key(fleet, batch)
    assert {line["state"] for line in lines.values()} == {"succeeded"}
    assert lines["msa-twin"]["file_id"] == lines["msa-0"]["file_id"]
    files = emulator.stats()["moderately"]["files"]
    for line in lines.values():
        [(name, entry)] = [(k, f) for k, f in files.items() if k.endswith(line["file_id"])]
        assert entry["sha256"] in stored_sha256s(line)


def test_invalid_pipeline_summary_fails_its_job_before_any_request(fleet, batch_name):
    bad = sample_job("too-long", "moderately", "pipeline")
    bad["params"]["pipelineInputSummary"] = "x" * 1001
    batch = fleet.enqueue_batch([bad, sample_job("fine", "moderately", "pipeline",
                                                 duration_s=0.3)], batch=batch_name)
    wait_done(fleet, batch, timeout_s=30)
    lines = by_key(fleet, batch)
    assert lines["fine"]["state"] == "succeeded"
    assert (lines["too-long"]["state"], lines["too-long"]["reason"]) == ("failed", "rejected")
    assert "1,001 characters" in lines["too-long"]["error"]
    assert lines["too-long"]["remote_id"] is None


def test_wrong_openprotein_credentials_fail_only_openprotein_jobs(emulator, tmp_path):
    jobs = [sample_job(f"{kind}-{i}", provider, kind, duration_s=0.3)
            for i, (provider, kind) in enumerate(KINDS * 2)]
    with private_fleet(emulator, tmp_path, OPENPROTEIN_PASSWORD="wrong") as (fleet, _):
        batch = fleet.enqueue_batch(emulator.plan_jobs(jobs), batch="wrong-op-password")
        wait_done(fleet, batch, timeout_s=60)
        lines = list(fleet.results(batch))
    for line in lines:
        if line["provider"] == "openprotein":
            assert (line["state"], line["reason"]) == ("failed", "auth")
            assert "HTTP 401" in line["error"]
        else:
            assert line["state"] == "succeeded"
