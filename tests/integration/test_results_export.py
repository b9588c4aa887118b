"""Results a person can use: a mixed batch's outputs written to an S3-compatible server (a
real server process over HTTP) by the workers, and exported by the CLI on the producer's
side as ``DIR/<key>/<file name>`` under the files' real names."""

from __future__ import annotations

import csv
import hashlib
import json
import subprocess
import sys

import pytest

from emulator.samples import KINDS, sample_job
from tests.fixtures.fleet import private_fleet, wait_done
from worker.results.names import key_dir

pytestmark = pytest.mark.integration

HOSTILE_KEY = "../../etc/passwd"


def test_a_mixed_batch_exports_every_file_under_its_real_name_from_s3(
    emulator, s3_server, tmp_path
):
    bucket = s3_server.new_bucket()
    jobs = [sample_job(f"{kind}-{i}", provider, kind, duration_s=0.3)
            for i, (provider, kind) in enumerate(KINDS * 2)]
    jobs.append(sample_job(HOSTILE_KEY, "openprotein", "msa", duration_s=0.3))
    jobs.append(sample_job("doomed", "deeporigin", "tool", duration_s=0.3, outcome="failed",
                           reason="told to fail"))
    with private_fleet(emulator, tmp_path / "fleet", workers=1,
                       JOBFLEET_RESULTS_URL=f"s3://{bucket}/fleet", **s3_server.env()) as (
            api, pool):
        batch = api.enqueue_batch(emulator.plan_jobs(jobs), batch="mixed")
        wait_done(api, batch, timeout_s=90)
        lines = {line["key"]: line for line in api.results(batch)}
        out = tmp_path / "export"
        run = subprocess.run([sys.executable, "-m", "producers.cli", "export", batch, str(out),
                              "--format", "csv"], env=pool.env, capture_output=True, text=True,
                             timeout=120)
    assert run.returncode == 0, run.stderr
    assert lines["doomed"]["state"] == "failed"
    names = set()
    for key, line in lines.items():
        if key == "doomed":
            continue
        assert line["state"] == "succeeded", line
        for name, entry in line["result"]["files"].items():
            assert entry["location"].startswith(f"s3://{bucket}/fleet/mixed/")
            exported = (out / key_dir(key, line["id"]) / name).read_bytes()
            assert hashlib.sha256(exported).hexdigest() == entry["sha256"]
            names.add(name)
    assert "msa.fasta" in names and any(n.endswith(".npy") for n in names), names
    on_disk = {p.resolve() for p in out.rglob("*") if p.is_file()}
    assert all(out.resolve() in p.parents for p in on_disk)
    assert key_dir(HOSTILE_KEY, lines[HOSTILE_KEY]["id"]).endswith(lines[HOSTILE_KEY]["id"][:8])
    with open(out / "results.csv", newline="") as table:
        rows = {row["key"]: row for row in csv.DictReader(table)}
    assert set(rows) == set(lines)
    assert rows["doomed"]["reason"] == "remote_failed" and not rows["doomed"]["data"]
    assert json.loads(rows["msa-3"]["data"]) == lines["msa-3"]["result"]["data"]
    assert rows["msa-3"]["files"] == "msa-3/msa.fasta"


def test_export_errors_are_one_line(fleet, fleet_environment, tmp_path):
    target = tmp_path / "a-file"
    target.write_text("")
    run = subprocess.run([sys.executable, "-m", "producers.cli", "export", "nope", str(target)],
                         env=fleet_environment, capture_output=True, text=True, timeout=60)
    assert run.returncode == 1 and run.stderr.strip() == "jobfleet: unknown batch 'nope'"
