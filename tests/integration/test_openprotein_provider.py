"""OpenProteinProvider against the emulator over real HTTP, with a real Redis.

This module's emulator issues access tokens that live two seconds, so expiry and renewal
happen inside a test. Two provider instances on one Redis stand for two worker processes:
the emulator's login and refresh counters then show whether the fleet really shares one
token. Faults are scripted through the provider's ``before_request`` hook, one emulator
setting per attempt, so "a 503, then a 429, then an answer" is exact.
"""

from __future__ import annotations

import dataclasses
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from emulator.control import EmulatorControl, start_emulator
from tests.fixtures.emulator import FIXTURE_ARGS
from tests.fixtures.providers import Planned, ScriptedOutage, wait_terminal
from tests.unit.test_openprotein_emulator import load_npy
from worker.errors import AuthError, PermanentError, TransientError
from worker.providers.matching import FIND_SLACK_S, SearchInconclusive
from worker.providers.openprotein import SPEC
from worker.providers.openprotein import search as openprotein
from worker.providers.openprotein.provider import OpenProteinProvider
from worker.providers.openprotein.settings import OpenProteinSettings
from worker.providers.types import JobSpec, RemoteState, RemoteStatus
from worker.store import JobStore

pytestmark = pytest.mark.integration

USER, PASSWORD = "fleet", "s3cret-Pa55word"
TOKEN_TTL_S = 2.0
FAST = {"duration_s": 0.1, "queue_s": 0.02}
LONG = {"duration_s": 60.0, "queue_s": 0.0}
SEED = "MKTAYIAKQRQISFVKSHFSRQ"
MODEL = "esm2_t6_8M_UR50D"


@pytest.fixture(scope="module")
def private_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorControl]:
    """This module's emulator: the fleet's account and two-second access tokens."""
    log_path = tmp_path_factory.mktemp("emulator-openprotein-provider") / "emulator.log"
    args = (*FIXTURE_ARGS, "--op-user", f"{USER}:{PASSWORD}", "--op-token-ttl", str(TOKEN_TTL_S))
    with start_emulator(args, log_path=log_path) as process:
        yield process.control


def make_provider(
    control: EmulatorControl, redis_client, password: str = PASSWORD, **kwargs: Any
) -> Planned:
    settings = OpenProteinSettings(
        api_backend=control.base_url("openprotein") + "/",
        username=USER,
        password=SecretStr(password),
    )
    return Planned(SPEC.make(settings, timeout_s=5.0, redis=redis_client, **kwargs), control)


@pytest.fixture
def provider(fresh_emulator, redis_client) -> Iterator[OpenProteinProvider]:
    made = make_provider(fresh_emulator, redis_client)
    yield made
    made.close()


def msa_job(emulate: dict[str, Any] = FAST, **params: Any) -> JobSpec:
    """An MSA job; with the caller's ``names`` (or an alignment) it can only be found by
    payload, which these tests opt in to (the default refusal has a test of its own)."""
    params = {"sequences": [SEED], "_emulator": emulate} | params
    return JobSpec(job_id=uuid.uuid4().hex[:24], kind="msa", params=params,
                   adopt_by_payload="names" in params or params.get("is_seed") is False)


def embed_job(sequences: list[str], emulate: dict[str, Any] = FAST, *,
              by_payload: bool = True, **params: Any) -> JobSpec:
    """An embedding job: nothing in it can carry our id, so it is found by payload (opted in
    here unless ``by_payload`` is false)."""
    params = {"model": MODEL, "sequences": sequences, "_emulator": emulate} | params
    return JobSpec(job_id=f"job-{uuid.uuid4()}", kind="embed", params=params,
                   adopt_by_payload=by_payload)


def auth_counts(control: EmulatorControl) -> tuple[int, int]:
    """(logins, refreshes) the emulator has seen."""
    stats = control.provider_stats("openprotein")
    return stats["logins"], stats["refreshes"]


def test_an_msa_job_runs_to_success_and_its_alignment_is_fetched(provider):
    job = msa_job()
    submission = provider.submit(job)
    assert submission.status.state is RemoteState.PENDING
    status = wait_terminal(provider, submission.remote_id, "msa")
    assert status.state is RemoteState.SUCCEEDED and status.raw == "SUCCESS"
    outputs = provider.fetch_outputs(submission.remote_id, "msa", status)
    fasta = outputs.files["msa.fasta"]
    assert fasta.startswith(f">seed\n{SEED}\n".encode())  # our marker is not in the result
    assert outputs.data == {"job_id": submission.remote_id, "file": "msa.fasta", "num_sequences": 9}


def test_an_embedding_job_yields_one_npy_per_sequence(provider):
    submission = provider.submit(embed_job(["MKTA", "MKTAYIAK"]))
    status = wait_terminal(provider, submission.remote_id, "embed")
    outputs = provider.fetch_outputs(submission.remote_id, "embed", status)
    listing = outputs.data["embeddings"]
    assert [row["sequence"] for row in listing] == ["MKTA", "MKTAYIAK"]
    for row in listing:
        assert load_npy(outputs.files[row["file"]])[0] == (320,)


def test_outputs_are_fetched_without_the_status_record(provider):
    submission = provider.submit(embed_job(["MKTAY"], reduction=None))
    wait_terminal(provider, submission.remote_id, "embed")
    bare = RemoteStatus(state=RemoteState.SUCCEEDED, raw="SUCCESS")
    outputs = provider.fetch_outputs(submission.remote_id, "embed", bare)
    assert load_npy(outputs.files["embedding_00000.npy"])[0] == (5, 320)


def test_a_remote_failure_is_reported_with_the_platforms_reason(provider):
    failing = {**FAST, "outcome": "failed", "reason": "no homologs found"}
    submission = provider.submit(msa_job(failing))
    status = wait_terminal(provider, submission.remote_id, "msa")
    assert status.state is RemoteState.FAILED and status.detail == "no homologs found"


def test_retrying_reads_as_pending_and_a_platform_cancel_as_cancelled(provider):
    retrying = provider.submit(msa_job({**LONG, "retrying_s": 60}))
    status = provider.status(retrying.remote_id, "msa")
    assert (status.state, status.raw) == (RemoteState.PENDING, "RETRYING")
    cancelled = provider.submit(msa_job({**LONG, "cancel_after_s": 0.05}))
    assert wait_terminal(provider, cancelled.remote_id, "msa").raw == "CANCELED"


def test_there_is_no_cancel_but_a_lost_create_can_be_found(provider):
    assert not provider.supports_cancel and provider.supports_find
    with pytest.raises(NotImplementedError):
        provider.cancel("any", "msa")


def test_a_platform_refusal_of_the_params_is_permanent(provider, fresh_emulator):
    refused = {"reject": {"status": 422, "message": "sequence too divergent"}}
    with pytest.raises(PermanentError) as caught:
        provider.submit(msa_job(refused))
    assert caught.value.status == 422 and "sequence too divergent" in str(caught.value)
    assert fresh_emulator.provider_stats("openprotein")["jobs_created"] == 0


def test_two_workers_share_one_login(fresh_emulator, redis_client, provider):
    other = make_provider(fresh_emulator, redis_client)
    remote_id = provider.submit(msa_job(LONG)).remote_id
    for _ in range(3):
        provider.status(remote_id, "msa")
        other.status(remote_id, "msa")
    assert auth_counts(fresh_emulator) == (1, 0)
    keys = redis_client.keys("*")
    assert keys == [provider._token.key] and keys[0].startswith("jf:token:openprotein:")
    assert USER not in keys[0] and PASSWORD not in redis_client.get(keys[0])


def test_an_expired_token_costs_one_refresh_for_two_workers(fresh_emulator, redis_client, provider):
    other = make_provider(fresh_emulator, redis_client)
    remote_id = provider.submit(msa_job(LONG)).remote_id
    time.sleep(TOKEN_TTL_S + 0.1)
    start = threading.Barrier(2)
    seen: list[str] = []

    def poll(worker: OpenProteinProvider) -> None:
        start.wait()
        seen.append(worker.status(remote_id, "msa").raw)

    threads = [threading.Thread(target=poll, args=(w,)) for w in (provider, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert seen == ["RUNNING", "RUNNING"]
    assert auth_counts(fresh_emulator) == (1, 1)
    assert fresh_emulator.provider_stats("openprotein")["token_rejections"] == 0


def test_a_rejected_token_is_renewed_once_and_the_call_retried(fresh_emulator, provider):
    provider.submit(msa_job(LONG))
    fresh_emulator.reset()  # the platform forgets every session (and job)
    submission = provider.submit(msa_job(LONG))
    assert submission.status.raw in ("PENDING", "RUNNING")
    stats = fresh_emulator.provider_stats("openprotein")
    assert (stats["token_rejections"], stats["refresh_failures"], stats["logins"]) == (1, 1, 1)


def test_a_wrong_password_fails_fast_and_the_next_worker_does_not_log_in(
    fresh_emulator, redis_client
):
    slept: list[float] = []  # fast: no retry, so no wait between attempts either
    first = make_provider(fresh_emulator, redis_client, password="wrong-password",
                          sleep=slept.append)
    with pytest.raises(AuthError) as caught:
        first.submit(msa_job())
    assert slept == [] and caught.value.status == 401
    assert "Incorrect username or password" in str(caught.value)
    second = make_provider(fresh_emulator, redis_client, password="wrong-password")
    with pytest.raises(AuthError, match="Incorrect username or password"):
        second.status("any-job", "msa")
    stats = fresh_emulator.provider_stats("openprotein")
    assert stats["requests_by_endpoint"] == {"POST /v1/auth/login": 1}
    assert stats["login_failures_by_user"] == {USER: 1}
    assert "wrong-password" not in str(caught.value)
    stored = [redis_client.get(key) or "" for key in redis_client.scan_iter()]
    assert stored and not any("wrong-password" in value for value in stored)


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def outage(fresh_emulator) -> ScriptedOutage:
    return ScriptedOutage(fresh_emulator, "openprotein")


@pytest.fixture
def flaky_provider(fresh_emulator, redis_client, outage, sleeps):
    made = make_provider(fresh_emulator, redis_client, before_request=outage,
                         sleep=sleeps.append, retries=2)
    yield made
    made.close()


def test_a_5xx_and_a_429_on_a_get_are_absorbed(flaky_provider, outage, sleeps, fresh_emulator):
    remote_id = flaky_provider.submit(msa_job(LONG)).remote_id
    outage.arm({"fault_5xx": 1.0}, {"fault_5xx": 0.0, "fault_429": 1.0, "retry_after": 0.2},
               {"fault_429": 0.0})
    assert flaky_provider.status(remote_id, "msa").raw == "RUNNING"
    assert len(sleeps) == 2 and sleeps[1] == 0.2
    faults = fresh_emulator.provider_stats("openprotein")["faults"]
    assert (faults["5xx"], faults["429"]) == (1, 1)


def test_a_429_on_the_create_is_retried_but_a_5xx_is_not(
    flaky_provider, outage, sleeps, fresh_emulator
):
    outage.arm({}, {"fault_429": 1.0, "retry_after": 0.1}, {"fault_429": 0.0})  # login clean
    assert flaky_provider.submit(msa_job(LONG)).status.raw in ("PENDING", "RUNNING")
    assert sleeps == [0.1]
    outage.arm({"fault_5xx": 1.0}, {"fault_5xx": 0.0})
    with pytest.raises(TransientError):
        flaky_provider.submit(msa_job(LONG))
    assert fresh_emulator.provider_stats("openprotein")["jobs_created"] == 1


def test_a_5xx_on_login_is_absorbed_too(flaky_provider, outage, sleeps, fresh_emulator):
    outage.arm({"fault_5xx": 1.0}, {"fault_5xx": 0.0})
    assert flaky_provider.submit(msa_job(LONG)).status.raw in ("PENDING", "RUNNING")
    assert auth_counts(fresh_emulator) == (1, 0) and len(sleeps) == 1


# -- finding a create whose answer was lost -------------------------------------------------

OTHER_SEED = "MKTAYIAKQRQISFVKSHFSRW"


def lost(job: JobSpec, started: float | None) -> JobSpec:
    """The job as the fleet retries it: same id and params, the earlier attempt's start."""
    return dataclasses.replace(job, create_started=started)


def twin(job: JobSpec) -> JobSpec:
    """Another of our jobs with exactly the same params."""
    return dataclasses.replace(job, job_id=f"job-{uuid.uuid4()}")


def taken_in(store: JobStore, job: JobSpec):
    """``taken`` exactly as the fleet's submit step builds it."""
    return lambda remote_id: store.remote_owner("openprotein", remote_id) not in (None, job.job_id)


@pytest.mark.parametrize("job", [
    msa_job(LONG),
    msa_job(LONG, sequences=["MKT-YIAK", "MKTAYIAK"], is_seed=False, names=["query", "hit1"]),
    embed_job(["MKTA", "MKTAYIAK"], LONG),
    embed_job(["MKTAY"], LONG, reduction=None),
], ids=["seed", "alignment", "embed", "per-residue"])
def test_a_create_whose_answer_was_lost_is_found_by_its_inputs(provider, job):
    started = time.time()
    created = provider.submit(job)  # its answer never reached the fleet
    found = provider.find(lost(job, started))
    assert found is not None and found.remote_id == created.remote_id
    assert found.status.state in (RemoteState.PENDING, RemoteState.RUNNING)


@pytest.mark.parametrize(("mine", "other"), [
    (msa_job(LONG), msa_job(LONG, sequences=[OTHER_SEED])),
    (msa_job(LONG), msa_job(LONG, names=["query"])),
    (msa_job(LONG, sequences=["MKTA", "MKTA"], is_seed=False),
     msa_job(LONG, sequences=["MKTA"], is_seed=False)),
    (embed_job(["MKTA"], LONG), embed_job(["MKTA", "MKTAY"], LONG)),
    (embed_job(["MKTA"], LONG), embed_job(["MKTA"], LONG, model="prot-seq")),
    (embed_job(["MKTA"], LONG), embed_job(["MKTA"], LONG, reduction="SUM")),
    (embed_job(["MKTA"], LONG), embed_job(["MKTA"], LONG, reduction=None)),
], ids=["seed", "names", "rows", "sequences", "model", "reduction", "per-residue"])
def test_a_job_with_a_different_payload_is_not_adopted(provider, mine, other):
    started = time.time()
    provider.submit(other)
    assert provider.find(lost(mine, started)) is None


def test_embedding_sequences_match_in_any_order_but_msa_rows_only_in_order(provider):
    started = time.time()
    embedded = provider.submit(embed_job(["MKTA", "MKTAYIAK"], LONG)).remote_id
    assert provider.find(lost(embed_job(["MKTAYIAK", "MKTA"], LONG), started)).remote_id == (
        embedded)
    rows = {"is_seed": False, "names": ["a", "b"]}
    provider.submit(msa_job(LONG, sequences=["MKTA", "MKTY"], **rows))
    assert provider.find(lost(msa_job(LONG, sequences=["MKTY", "MKTA"], **rows), started)) is None


def test_twin_msa_jobs_named_by_us_each_find_their_own_remote_job(provider):
    first = msa_job(LONG)
    second = twin(first)
    started = time.time()
    one, two = provider.submit(first).remote_id, provider.submit(second).remote_id
    assert provider.find(lost(second, started)).remote_id == two
    assert provider.find(lost(first, started)).remote_id == one


def test_an_embedding_found_by_its_inputs_alone_is_not_adopted_without_the_opt_in(provider):
    job = embed_job(["MKTA", "MKTAYIAK"], LONG, by_payload=False)
    started = time.time()
    created = provider.submit(job).remote_id
    with pytest.raises(SearchInconclusive, match=f"remote job\\(s\\) {created} have exactly "
                       "our inputs but nothing marks them as ours") as caught:
        provider.find(lost(job, started))
    assert caught.value.reason == "submit_unknown"


def test_two_jobs_with_identical_payloads_adopt_two_different_remote_jobs(
    provider, redis_client
):
    store = JobStore(redis_client)
    first = msa_job(LONG, names=["q"])  # the caller's name: matched by payload (opted in)
    second = twin(first)
    started = time.time()
    one, two = provider.submit(first).remote_id, provider.submit(second).remote_id
    for job in (second, first):  # either order: each records what it adopted, as the fleet does
        found = provider.find(lost(job, started), taken=taken_in(store, job))
        assert store.own_remote("openprotein", found.remote_id, job.job_id)
    assert {store.remote_owner("openprotein", rid) for rid in (one, two)} == {
        first.job_id, second.job_id}
    assert store.remote_owner("openprotein", one) == second.job_id  # oldest to the first asker
    third = twin(first)
    assert provider.find(lost(third, started), taken=taken_in(store, third)) is None


def test_a_job_created_before_the_window_is_not_matched(provider):
    job = embed_job(["MKTA"], LONG)
    provider.submit(job)
    later = time.time() + FIND_SLACK_S + 2  # the "earlier attempt" began after this create
    assert provider.find(lost(job, later)) is None


def test_with_no_known_start_the_last_15_minutes_are_searched(provider):
    job = msa_job(LONG)
    created = provider.submit(job)
    assert provider.find(lost(job, None)).remote_id == created.remote_id


@pytest.mark.parametrize("job", [msa_job(LONG), embed_job(["MKTA", "MKTAY"], LONG)],
                         ids=["msa", "embed"])
def test_a_create_processed_but_dropped_is_recovered_exactly_once(
    flaky_provider, outage, fresh_emulator, job
):
    outage.arm({}, {"fault_drop": 1.0}, {"fault_drop": 0.0})  # the login, then the create
    started = time.time()
    with pytest.raises(TransientError) as caught:
        flaky_provider.submit(job)
    assert caught.value.status is None  # no answer: the step keeps create_started
    found = flaky_provider.find(lost(job, started))
    assert found is not None and flaky_provider.find(lost(job, started)) == found
    assert fresh_emulator.provider_stats("openprotein")["jobs_created"] == 1


def test_the_job_list_is_paged_to_its_end(provider, fresh_emulator, monkeypatch):
    monkeypatch.setattr(openprotein, "LIST_PAGE_SIZE", 2)
    job = msa_job(LONG)
    started = time.time()
    created = provider.submit(job)
    for index in range(4):
        provider.submit(msa_job(LONG, sequences=[SEED + "A" * (index + 1)]))
    assert provider.find(lost(job, started)).remote_id == created.remote_id
    endpoints = fresh_emulator.provider_stats("openprotein")["requests_by_endpoint"]
    assert endpoints["GET /v1/jobs"] == 4  # pages of 2, 2, 1, then an empty one
