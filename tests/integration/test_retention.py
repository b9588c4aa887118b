"""Retention removes what Redis cannot expire: an ended job's result files (local and on a
real S3-compatible server) once its record's retention ends, and a batch's jobs from the
fleet-wide counts behind ``jobfleet_jobs``. Real Redis, real stores, a hand-moved clock."""

from __future__ import annotations

import json
import logging

import pytest

from monitor.fleet import job_counts
from worker import keys
from worker.lifecycle import forget_batch
from worker.record import Job
from worker.results.store import ResultStore, plan_outputs
from worker.retention import Janitor
from worker.store import JobStore

pytestmark = pytest.mark.integration

RETENTION_S = 100
BIG = {"scores": list(range(5000))}  # more than stays inline: written as _data.json


def record(key: str, batch: str = "b1", provider: str = "deeporigin") -> Job:
    return Job.new(batch, key, provider, "tool", {"tool": "t", "inputs": {}})


@pytest.fixture
def retention_store(redis_client, clock):
    return JobStore(redis_client, clock=clock, retention_s=RETENTION_S)


@pytest.fixture(params=["local", "s3"])
def results(request, tmp_path):
    if request.param == "local":
        return ResultStore(str(tmp_path / "results"))
    server = request.getfixturevalue("s3_server")
    env = server.env()
    monkeypatch = request.getfixturevalue("monkeypatch")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return ResultStore(f"s3://{server.new_bucket()}/fleet")


def run(store: JobStore, job_id: str) -> None:
    store.transition(job_id, ["queued"], "submitting")
    store.transition(job_id, ["submitting"], "running", remote_id=f"r-{job_id}")


def finish(store: JobStore, job: Job, manifest: str, to: str = "succeeded", **fields) -> None:
    assert store.transition(job.id, ["running"], to, result=manifest, **fields)[0]


def exists(results: ResultStore, location: str) -> bool:
    return results.fs.exists(results._inside(location))


def locations(manifest: str) -> list[str]:
    parsed = json.loads(manifest)
    found = [entry["location"] for entry in parsed["files"].values()]
    return found + ([parsed["data_location"]] if "data_location" in parsed else [])


def test_an_ended_jobs_files_go_when_its_retention_ends_and_nothing_else_does(
    retention_store, results, clock
):
    done, alive = retention_store.create_many([record("done"), record("alive")], due_in=0)
    for job_id in (done, alive):
        run(retention_store, job_id)
    ours = plan_outputs(results, "b1", "done", done, BIG,
                         {"out/msa.fasta": b">a\nMK\n", "log.txt": b"ok"}).write()
    theirs = plan_outputs(results, "b1", "alive", alive, {"n": 1}, {"msa.fasta": b">b\n"}).write()
    stranger = results.put(("b1", "done", "notes.txt"), b"a person's own file")
    finish(retention_store, Job.new("b1", "done", "deeporigin", "tool", {}), ours)
    assert len(locations(ours)) == 3  # two outputs and the data too big to keep inline

    janitor = Janitor(retention_store, results)
    clock.now += RETENTION_S - 1
    assert janitor.run_once().files == 0
    assert all(exists(results, at) for at in locations(ours))

    clock.now += 2
    assert janitor.run_once().files == 3
    assert not any(exists(results, at) for at in locations(ours))
    assert exists(results, stranger)  # in the job's folder, but not written for the job
    assert all(exists(results, at) for at in locations(theirs))  # still running
    assert retention_store.redis.zcard(keys.FILES_DUE) == 0
    assert retention_store.redis.hlen(keys.HELD_FILES) == 0
    assert janitor.run_once().files == 0  # nothing is asked twice


def test_a_local_store_drops_the_folders_a_removal_leaves_empty(retention_store, tmp_path,
                                                                 clock):
    results = ResultStore(str(tmp_path / "results"))
    [job_id] = retention_store.create_many([record("only", batch="lone")], due_in=0)
    run(retention_store, job_id)
    manifest = plan_outputs(results, "lone", "only", job_id, {"n": 1}, {"a.txt": b"a"}).write()
    finish(retention_store, record("only", batch="lone"), manifest)
    clock.now += RETENTION_S + 1
    Janitor(retention_store, results).run_once()
    assert list((tmp_path / "results").iterdir()) == []
    assert (tmp_path / "results").is_dir()  # the root itself stays


def test_a_location_outside_the_results_root_is_refused_with_one_line(
    retention_store, tmp_path, clock, caplog
):
    results = ResultStore(str(tmp_path / "results"))
    victim = tmp_path / "elsewhere" / "precious.txt"
    victim.parent.mkdir()
    victim.write_text("not jobfleet's")
    folder = tmp_path / "results" / "b1"
    folder.mkdir(parents=True)
    forged = {"files": {
        "a": {"location": str(victim)},
        "b": {"location": f"{tmp_path}/results/../elsewhere/precious.txt"},
        "c": {"location": f"s3://bucket{victim}"},
        "d": {"location": str(folder)},
    }}
    [job_id] = retention_store.create_many([record("forged")], due_in=0)
    run(retention_store, job_id)
    finish(retention_store, record("forged"), json.dumps(forged))
    clock.now += RETENTION_S + 1
    with caplog.at_level(logging.WARNING, logger="jobfleet.retention"):
        swept = Janitor(retention_store, results).run_once()
    assert (swept.files, swept.refused) == (0, 4)
    assert victim.read_text() == "not jobfleet's" and folder.is_dir()
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 4 and all("\n" not in line for line in lines)
    assert (f"retention: not removed for job {job_id}: {victim} is outside the result store "
            f"{tmp_path}/results") in lines
    assert any(line.endswith(f"{folder} is a folder, not a stored file") for line in lines)
    caplog.clear()
    assert Janitor(retention_store, results).run_once().refused == 0  # said once, not again


def test_a_retried_job_keeps_its_files_until_its_new_attempt_ends_and_expires(
    retention_store, tmp_path, clock
):
    results = ResultStore(str(tmp_path / "results"))
    job = record("again")
    [job_id] = retention_store.create_many([job], due_in=0)
    run(retention_store, job_id)
    first = plan_outputs(results, "b1", "again", job_id, {"n": 1},
                          {"a.txt": b"1", "only-first.txt": b"1"}).write()
    finish(retention_store, job, first, to="failed", reason="remote_failed",
           remote_done="failed")
    assert retention_store.retry_many([job_id], due_in=0) == {job_id: "retried"}
    janitor = Janitor(retention_store, results)
    clock.now += RETENTION_S + 1
    assert janitor.run_once().files == 0  # the job lives again: its files stay
    run(retention_store, job_id)
    second = plan_outputs(results, "b1", "again", job_id, {"n": 2}, {"a.txt": b"2"}).write()
    finish(retention_store, job, second)
    clock.now += RETENTION_S - 1
    assert janitor.run_once().files == 0
    clock.now += 2
    assert janitor.run_once().files == 2  # both attempts' files, each once
    assert not any(exists(results, at) for at in locations(first) + locations(second))


def test_expired_batches_leave_the_fleet_wide_job_counts(retention_store, tmp_path, clock):
    results = ResultStore(str(tmp_path / "results"))
    old = retention_store.create_many([record("x", "old"), record("y", "old", "moderately")],
                                      due_in=0)
    [live] = retention_store.create_many([record("z", "live")], due_in=0)
    for job_id in old:
        retention_store.transition(job_id, ["queued"], "cancelled")
    assert job_counts(retention_store.redis)[("deeporigin", "cancelled")] == 1
    janitor = Janitor(retention_store, results)
    clock.now += RETENTION_S - 1
    assert janitor.run_once().batches == 0
    clock.now += 2
    assert janitor.run_once().batches == 1
    counts = {k: v for k, v in job_counts(retention_store.redis).items() if v}
    assert counts == {("deeporigin", "queued"): 1}  # only the live batch's job
    assert not retention_store.redis.exists(*keys.batch_keys("old"))
    assert retention_store.redis.zscore(keys.BATCHES, "old") is None
    assert retention_store.redis.zscore(keys.BATCHES, "live") is not None
    retention_store.transition(live, ["queued"], "cancelled")
    assert forget_batch(retention_store, "live") == 1  # forgetting drops its counts at once
    assert not any(job_counts(retention_store.redis).values())
    assert retention_store.redis.zcard(keys.RETIRING) == 0


def test_new_work_in_a_finished_batch_keeps_its_counts(retention_store, tmp_path, clock):
    [a] = retention_store.create_many([record("a")], due_in=0)
    retention_store.transition(a, ["queued"], "cancelled")
    clock.now += RETENTION_S / 2
    retention_store.create_many([record("b")], due_in=0)
    clock.now += RETENTION_S
    assert Janitor(retention_store, ResultStore(str(tmp_path))).run_once().batches == 0
    assert job_counts(retention_store.redis)[("deeporigin", "cancelled")] == 1


def test_one_process_takes_each_round(retention_store, tmp_path):
    results = ResultStore(str(tmp_path))
    first, second = Janitor(retention_store, results), Janitor(retention_store, results)
    assert first.take_turn() and not second.take_turn()
