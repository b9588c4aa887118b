"""The state machine and due index, on a real Redis."""

import pytest

from worker.keys import (
    PLATFORMS_PART,
    RETIRING,
    batch_key,
    batch_keys,
    due_key,
    job_key,
    remote_key,
    unstarted_key,
)
from worker.record import Job, make_job_id
from worker.store import JobStore


def record(key, batch="b1", provider="deeporigin"):
    return Job.new(batch, key, provider, "tool", {"tool": "t", "inputs": {}})


def test_creating_the_same_keys_twice_creates_nothing_new(store):
    first = store.create_many([record("a"), record("b")], due_in=30)
    again = store.create_many([record("a"), record("b"), record("c")], due_in=30)
    assert len(first) == 2
    assert again == [make_job_id("b1", "c")]
    assert store.batch_counts("b1")["total"] == 3
    assert store.batch_counts("b1")["queued"] == 3


def test_a_new_job_waits_in_the_index_of_jobs_not_yet_started(store, redis_client, clock):
    [job_id] = store.create_many([record("a")], due_in=30)
    assert redis_client.zscore(unstarted_key("deeporigin"), job_id) == clock.now + 30
    assert redis_client.zscore(due_key("submit", "deeporigin"), job_id) is None


def test_transitions_move_batch_counters_and_stamp_times(store, clock):
    [job_id] = store.create_many([record("a")], due_in=30)
    clock.now = 1005
    assert store.transition(job_id, ["queued"], "submitting") == (True, "queued")
    clock.now = 1007
    assert store.transition(job_id, ["submitting"], "running", remote_id="r-1")[0]
    job = store.get(job_id)
    assert job.state == "running"
    assert job.remote_id == "r-1"
    assert job.times["submitting"] == 1005
    assert job.times["running"] == 1007
    counts = store.batch_counts("b1")
    assert (counts["queued"], counts["submitting"], counts["running"]) == (0, 0, 1)


def test_a_stale_poll_answer_never_sends_a_job_seen_ended_back_to_poll(store, redis_client):
    """A poll asks while the job runs; a sweep then sees it ended and hands it to finalize;
    the poll's "still running" arrives after: it must not undo the hand-off (the job would
    wait forever: no poll acts on a job seen ended, and no sweep watches it)."""
    [job_id] = store.create_many([record("a")], due_in=0)
    store.transition(job_id, ["queued"], "submitting")
    store.transition(job_id, ["submitting"], "running", remote_id="r-1",
                     schedule=("poll", 1010.0))
    stale = store.get(job_id)  # what the poll read before asking
    assert store.transition(job_id, ["running"], "running", schedule=("finalize", 1001.0),
                            remote_done="succeeded")[0]  # the sweep's hand-off
    assert not store.reschedule(stale, "poll", 1020.0, remote_state="running")
    assert redis_client.zscore(due_key("finalize", "deeporigin"), job_id) == 1001.0
    assert redis_client.zscore(due_key("poll", "deeporigin"), job_id) is None
    assert store.get(job_id).remote_state is None


def test_a_transition_from_the_wrong_state_is_refused(store):
    [job_id] = store.create_many([record("a")], due_in=30)
    assert store.transition(job_id, ["running"], "succeeded") == (False, "queued")
    assert store.get(job_id).state == "queued"


def test_a_terminal_state_is_never_overwritten(store):
    [job_id] = store.create_many([record("a")], due_in=30)
    store.transition(job_id, ["queued"], "cancelled")
    for target in ("running", "succeeded", "failed", "queued"):
        done, old = store.transition(job_id, ["queued", "submitting", "running"], target)
        assert (done, old) == (False, "cancelled")
    assert store.batch_counts("b1")["cancelled"] == 1


def test_a_terminal_job_leaves_every_due_index(store, redis_client):
    [job_id] = store.create_many([record("a")], due_in=30)
    store.transition(job_id, ["queued"], "running", schedule=("poll", 1010))
    assert redis_client.zscore(due_key("poll", "deeporigin"), job_id) == 1010
    assert redis_client.zscore(due_key("submit", "deeporigin"), job_id) is None
    store.transition(job_id, ["running"], "failed", error="boom")
    for step in ("submit", "poll", "finalize"):
        assert redis_client.zscore(due_key(step, "deeporigin"), job_id) is None


def test_none_fields_are_deleted(store, redis_client):
    [job_id] = store.create_many([record("a")], due_in=30)
    store.transition(job_id, ["queued"], "queued", last_error="x")
    assert store.get(job_id).last_error == "x"
    store.transition(job_id, ["queued"], "queued", last_error=None)
    assert store.get(job_id).last_error is None
    assert not redis_client.hexists(job_key(job_id), "last_error")


def test_a_field_the_record_does_not_have_is_refused_before_anything_is_written(store):
    [job_id] = store.create_many([record("a")], due_in=30)
    with pytest.raises(TypeError, match="no field 'note'"):
        store.transition(job_id, ["queued"], "submitting", note="x")
    assert store.get(job_id).state == "queued"


def test_claiming_due_jobs_hands_each_out_once_and_leases_it(store, clock):
    ids = store.create_many([record(str(i)) for i in range(5)], due_in=0)
    first = store.claim_due("submit", "deeporigin", 3, until=clock.now + 30, unstarted=True).ids
    second = store.claim_due("submit", "deeporigin", 10, until=clock.now + 30, unstarted=True).ids
    assert len(first) == 3 and len(second) == 2
    assert set(first) | set(second) == set(ids)
    for unstarted in (False, True):
        assert store.claim_due("submit", "deeporigin", 10, until=clock.now + 30,
                               unstarted=unstarted).ids == []
    clock.now += 31  # the lease ran out: nobody finished the step, so it is handed out again
    again = store.claim_due("submit", "deeporigin", 10, until=clock.now + 30).ids
    assert sorted(again) == sorted(ids)


def test_a_step_lease_excludes_a_second_worker_until_it_expires(store, clock):
    [job_id] = store.create_many([record("a")], due_in=0)
    assert store.claim_lease(job_id, "submit", ("queued", "submitting"), 30)[0] == "fresh"
    assert store.claim_lease(job_id, "submit", ("queued", "submitting"), 30)[0] == "busy"
    store.transition(job_id, ["queued"], "submitting")
    clock.now += 31
    assert store.claim_lease(job_id, "submit", ("queued", "submitting"), 30)[0] == "resume"
    store.transition(job_id, ["submitting"], "running")
    assert store.claim_lease(job_id, "submit", ("queued", "submitting"), 30)[0] == "running"


def test_a_step_handed_back_without_its_lease_is_not_claimed_as_interrupted(store, clock):
    [job_id] = store.create_many([record("a")], due_in=0)
    store.claim_lease(job_id, "submit", ("queued", "submitting"), 30)
    store.transition(job_id, ["queued"], "submitting")
    store.transition(job_id, ["submitting"], "submitting", schedule=("submit", clock.now + 1),
                     lease_until=None)  # the create was throttled before it left
    clock.now += 2
    assert store.claim_lease(job_id, "submit", ("queued", "submitting"), 30)[0] == "fresh"
    clock.now += 31  # this attempt dies holding the lease: the next one resumes
    assert store.claim_lease(job_id, "submit", ("queued", "submitting"), 30)[0] == "resume"


def test_a_claim_can_require_a_field(store):
    [job_id] = store.create_many([record("a")], due_in=0)
    store.transition(job_id, ["queued"], "running")
    claim, _ = store.claim_lease(job_id, "finalize", ("running",), 30, require="remote_done")
    assert claim == "not_ready"


def test_cancel_flags_never_create_stub_records(store):
    store.request_job_cancel(["no-such-job"])
    assert store.get("no-such-job") is None


def test_batch_ids_are_listed_in_submission_order(store):
    store.create_many([record(k) for k in "cab"], due_in=30)
    pages = list(store.batch_job_ids("b1", page=2))
    assert pages == [[make_job_id("b1", "c"), make_job_id("b1", "a")], [make_job_id("b1", "b")]]


def test_only_the_holder_of_a_lease_can_renew_it(store, clock):
    [job_id] = store.create_many([record("a")], due_in=0)
    store.transition(job_id, ["queued"], "running", remote_done="succeeded")
    status, token = store.claim_lease(job_id, "finalize", ("running",), 30)
    assert status == "fresh"
    renewed = store.renew_lease(job_id, "finalize", token, 30)
    assert renewed is not None
    clock.now += 31  # our lease ran out and another worker took the step over
    assert store.claim_lease(job_id, "finalize", ("running",), 30)[0] == "fresh"
    assert store.renew_lease(job_id, "finalize", renewed, 30) is None


def test_a_cancel_request_is_seen_for_the_job_or_its_whole_batch(store):
    a, b = store.create_many([record("a"), record("b")], due_in=30)
    [c] = store.create_many([record("c", batch="b2")], due_in=30)
    assert store.cancel_requested(store.get_many([a, b, c])) == set()
    store.request_job_cancel([a])
    assert store.cancel_requested(store.get_many([a, b, c])) == {a}
    assert store.request_batch_cancel("b2")
    assert store.cancel_requested(store.get_many([a, b, c])) == {a, c}
    assert not store.request_batch_cancel("no-such-batch")


def test_a_fresh_look_sees_a_cancel_request_made_after_the_record_was_read(store):
    [a] = store.create_many([record("a")], due_in=30)
    before = store.get(a)
    store.request_job_cancel([a])
    assert store.cancel_requested([before]) == set()  # the record in hand predates it
    assert store.cancel_requested([before], fresh=True) == {a}


def test_an_ended_job_and_its_finished_batch_expire_and_new_work_keeps_the_batch(
    redis_client, clock
):
    store = JobStore(redis_client, clock=clock, retention_s=500)
    a, b = store.create_many([record("a"), record("b")], due_in=30)
    store.transition(a, ["queued"], "submitting")
    store.transition(a, ["submitting"], "running", remote_id="r-a")
    assert store.own_remote("deeporigin", "r-a", a)
    store.transition(a, ["running"], "succeeded")
    assert 0 < redis_client.ttl(job_key(a)) <= 500
    assert 0 < redis_client.ttl(remote_key("deeporigin", "r-a")) <= 500
    assert redis_client.ttl(batch_key("b1")) == -1  # b is still queued
    store.transition(b, ["queued"], "cancelled")
    assert all(0 < redis_client.ttl(k) <= 500 for k in batch_keys("b1")
               if redis_client.exists(k) and not k.endswith(PLATFORMS_PART))
    assert redis_client.ttl(batch_key("b1") + PLATFORMS_PART) == -1  # the janitor's to retire
    assert redis_client.zscore(RETIRING, "b1") == clock.now + 500
    store.create_many([record("c")], due_in=30)
    assert all(redis_client.ttl(k) == -1 for k in batch_keys("b1") if redis_client.exists(k))


def test_retry_starts_a_new_attempt_only_when_no_remote_job_may_run(store, redis_client):
    ended, unknown, alive = store.create_many([record("x"), record("y"), record("z")], 30)
    for job_id, remote in ((ended, "r-x"), (alive, "r-z")):
        store.transition(job_id, ["queued"], "submitting")
        store.transition(job_id, ["submitting"], "running", remote_id=remote)
        assert store.own_remote("deeporigin", remote, job_id)
    store.transition(ended, ["running"], "failed", reason="remote_failed", remote_done="failed")
    store.transition(alive, ["running"], "failed", reason="deadline")
    store.transition(unknown, ["queued"], "submitting", create_started=1.0)
    store.transition(unknown, ["submitting"], "failed", reason="submit_unknown")
    outcome = store.retry_many([ended, unknown, alive, "nope"], due_in=30)
    assert outcome == {ended: "retried", unknown: "remote_unknown", alive: "remote_may_run",
                       "nope": "missing"}
    again = store.get(ended)
    assert (again.state, again.attempt, again.remote_id, again.reason) == ("queued", 2, None,
                                                                          None)
    assert again.past_remote_ids == ("r-x",) and again.remote_tag == f"{ended}-2"
    assert store.remote_owner("deeporigin", "r-x") == f"{ended}#1"  # never adopted again
    assert redis_client.ttl(job_key(ended)) == -1
    counts = store.batch_counts("b1")
    assert (counts["queued"], counts["failed"]) == (1, 2)
