"""Creating many jobs in few script calls: every record, counter and index entry as if one
by one, on a real Redis."""

from __future__ import annotations

from worker import keys
from worker.record import Job
from worker.store import CREATE_CHUNK, JobStore

N = CREATE_CHUNK + 250  # more than one script call per batch


def jobs(batch: str, n: int) -> list[Job]:
    providers = ("deeporigin", "moderately")
    return [Job.new(batch, f"k{i}", providers[i % 2], "tool",
                    {"inputs": {"smiles": "C" * (i % 7 + 1), "note": "é ✓ \"q\""}},
                    deadline_s=60.0 if i % 3 == 0 else None,
                    upload={"to": "deeporigin"} if i % 5 == 0 else None)
            for i in range(n)]


def test_a_large_create_writes_every_job_once_with_its_fields_counters_and_due_entry(
        redis_client):
    store = JobStore(redis_client, clock=lambda: 1000.0)
    given = jobs("b1", N) + jobs("b2", 10)
    created = store.create_many(given, due_in=0)
    assert created == [job.id for job in given]  # in the order given
    again = store.create_many(given[:5] + jobs("b1", N + 3)[-3:], due_in=0)
    assert len(again) == 3  # only the new keys
    for job in (given[0], given[3], given[5], given[N - 1], given[-1]):
        stored = store.get(job.id)
        assert (stored.params, stored.deadline_s, stored.upload) == (
            job.params, job.deadline_s, job.upload)
        assert (stored.state, stored.times) == ("queued", {"queued": 1000.0})
    assert store.batch_counts("b1")["total"] == N + 3
    assert store.batch_counts("b1")["queued"] == N + 3
    ids = [i for page in store.batch_job_ids("b1") for i in page]
    assert ids == [job.id for job in jobs("b1", N + 3)]
    due = redis_client.zrange(keys.unstarted_key("moderately"), 0, -1, withscores=True)
    assert len(due) == (N + 3) // 2 + 5 and {score for _, score in due} == {1000.0}
    counts = redis_client.hgetall(keys.COUNTS)
    assert int(counts["deeporigin:queued"]) + int(counts["moderately:queued"]) == N + 13
    platforms = redis_client.hgetall(keys.batch_key("b1") + ":platforms")
    assert int(platforms["deeporigin:total"]) == int(platforms["deeporigin:queued"]) == (
        N + 3 + 1) // 2
