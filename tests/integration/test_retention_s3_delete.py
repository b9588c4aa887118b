"""On S3 the retention janitor removes files with DeleteObjects, up to 1,000 keys a request,
and a key the answer says was not deleted stays held, is named in one line and is tried again
next round. Real Redis, a real S3-compatible server over HTTP, a hand-moved clock."""

from __future__ import annotations

import json
import logging

import pytest

from tests.integration.test_retention import RETENTION_S, exists, finish, locations, record, run
from worker import keys
from worker.results.s3_delete import MAX_KEYS
from worker.results.store import ResultStore, plan_outputs
from worker.retention import Janitor
from worker.store import JobStore

pytestmark = pytest.mark.integration


@pytest.fixture
def retention_store(redis_client, clock):
    return JobStore(redis_client, clock=clock, retention_s=RETENTION_S)


@pytest.fixture
def bucket_store(s3_server, monkeypatch):
    for name, value in s3_server.env().items():
        monkeypatch.setenv(name, value)
    bucket = s3_server.new_bucket()
    return bucket, ResultStore(f"s3://{bucket}/fleet")


class Requests:
    """The S3 operations the store's client sends, by name (botocore's own event hook)."""

    def __init__(self, results: ResultStore) -> None:
        self.names: list[str] = []
        results.fs.connect()
        results.fs.s3.meta.events.register("before-call.s3", self._seen)

    def _seen(self, model, **_) -> None:
        self.names.append(model.name)

    def deletes(self) -> list[str]:
        return [name for name in self.names if name.startswith("Delete")]


def deny_deletes(results: ResultStore, bucket: str, prefix: str) -> None:
    policy = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Principal": "*", "Action": "s3:DeleteObject",
        "Resource": f"arn:aws:s3:::{bucket}/{prefix}*"}]}
    results.fs.call_s3("put_bucket_policy", Bucket=bucket, Policy=json.dumps(policy))


def test_a_key_s3_would_not_delete_stays_held_and_goes_in_a_later_round(
    retention_store, bucket_store, clock, caplog
):
    bucket, results = bucket_store
    jobs = [record(key) for key in ("one", "two", "locked")]
    manifests = {}
    for job_id, job in zip(retention_store.create_many(jobs, due_in=0), jobs):
        run(retention_store, job_id)
        manifests[job_id] = plan_outputs(results, "b1", job.key, job_id, {"n": 1},
                                          {"a.txt": b"a", "b.txt": b"b"}).write()
        finish(retention_store, job, manifests[job_id])
    locked = jobs[2].id
    deny_deletes(results, bucket, "fleet/b1/locked/a.txt")
    seen = Requests(results)
    janitor = Janitor(retention_store, results)
    clock.now += RETENTION_S + 1

    with caplog.at_level(logging.WARNING, logger="jobfleet.retention"):
        assert janitor.run_once().files == 5
    assert seen.deletes() == ["DeleteObjects"]  # six keys, one request
    stuck = f"s3://{bucket}/fleet/b1/locked/a.txt"
    left = [at for manifest in manifests.values() for at in locations(manifest)
            if exists(results, at)]
    assert left == [stuck]
    [line] = [r.getMessage() for r in caplog.records]
    assert line.startswith(f"retention: could not remove {stuck} for job {locked} (AccessDenied")
    assert line.endswith("; kept, tried again next round") and "\n" not in line
    assert json.loads(retention_store.redis.hget(keys.HELD_FILES, locked)) == [stuck]
    assert retention_store.redis.zrange(keys.FILES_DUE, 0, -1) == [locked]

    results.fs.call_s3("delete_bucket_policy", Bucket=bucket)
    assert janitor.run_once().files == 1
    assert not exists(results, stuck)
    assert retention_store.redis.hlen(keys.HELD_FILES) == 0
    assert retention_store.redis.zcard(keys.FILES_DUE) == 0


def test_more_keys_than_one_request_takes_are_sent_in_as_few_requests_as_allowed(bucket_store):
    _, results = bucket_store
    written = results.put(("b1", "k", "real.txt"), b"x")
    gone = [results.location_of(("b1", "k", f"never-{i}.txt")) for i in range(MAX_KEYS)]
    seen = Requests(results)
    removal = results.remove_files([written, *gone])
    assert (len(removal.removed), removal.failed, removal.refused) == (MAX_KEYS + 1, {}, {})
    assert seen.deletes() == ["DeleteObjects", "DeleteObjects"]
    assert not exists(results, written)
