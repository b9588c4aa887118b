"""Lost creates in a burst, settled by one shared search: the emulator over real HTTP, a real Redis.

A burst of jobs is created on Moderately and OpenProtein; some creates "lose their answer"
(the test keeps the remote id to itself, as a dropped connection would). Each lost job is then
searched for as the fleet does after a lost answer, by providers that share one Redis, as
worker processes do. Each must find its own remote job (never another's, never none), and
the list is walked once for all of them, not once per job: the emulator's request counters
show it.
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
from tests.fixtures.providers import Planned
from worker import keys
from worker.credentials import fingerprint
from worker.errors import Throttled
from worker.providers import shared_find, shared_walk
from worker.providers.base import Provider
from worker.providers.matching import Candidate, SearchInconclusive
from worker.providers.moderately import SPEC as MODERATELY
from worker.providers.moderately import search as moderately_search
from worker.providers.moderately.settings import ModeratelySettings
from worker.providers.openprotein import SPEC as OPENPROTEIN
from worker.providers.openprotein import search as openprotein
from worker.providers.openprotein.settings import OpenProteinSettings
from worker.providers.types import JobSpec

pytestmark = pytest.mark.integration

USER, PASSWORD = "fleet", "burst-Pa55word"
LONG = {"duration_s": 120.0, "queue_s": 0.0}
SEED = "MKTAYIAKQRQISFVKSHFSRQ"
BURST, LOST = 30, 6  # jobs created per list, and how many of them lost their answer
PAGE = 5  # list page size for these tests, so one walk is several pages


@pytest.fixture(scope="module")
def private_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorControl]:
    log_path = tmp_path_factory.mktemp("emulator-shared-find") / "emulator.log"
    with start_emulator((*FIXTURE_ARGS, "--op-user", f"{USER}:{PASSWORD}"),
                        log_path=log_path) as process:
        yield process.control


@pytest.fixture
def emulator(private_emulator: EmulatorControl) -> EmulatorControl:
    private_emulator.reset()
    return private_emulator


@pytest.fixture(autouse=True)
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(moderately_search.WALK_PAGE_SIZES, "agent", PAGE)
    monkeypatch.setitem(moderately_search.WALK_PAGE_SIZES, "pipeline", PAGE)
    monkeypatch.setattr(openprotein, "LIST_PAGE_SIZE", PAGE)


def moderately_settings(control: EmulatorControl) -> ModeratelySettings:
    return ModeratelySettings(base_url=control.base_url("moderately"),
                              api_key="md-burst-key-0123456789", team_id="team-burst")


def moderately_provider(control: EmulatorControl, redis_client) -> Provider:
    return MODERATELY.make(moderately_settings(control), timeout_s=10.0, redis=redis_client)


def openprotein_provider(control: EmulatorControl, redis_client) -> Provider:
    settings = OpenProteinSettings(api_backend=control.base_url("openprotein") + "/",
                                   username=USER, password=SecretStr(PASSWORD))
    return Planned(OPENPROTEIN.make(settings, timeout_s=10.0, redis=redis_client), control)


def job_of(kind: str, index: int) -> JobSpec:
    """Jobs of one list each (one configuration version, one job type), all different."""
    params: dict[str, Any] = {
        "agent": {"agentConfigurationVersionId": "acv_burst",
                  "agentInput": {"n": index, "_emulator": LONG}},
        "pipeline": {"pipelineConfigurationVersionId": "pcv_burst",
                     "pipelineInput": {"n": index, "_emulator": LONG}},
        "msa": {"sequences": [SEED + "A" * (index % 7)], "_emulator": LONG},
    }[kind]
    return JobSpec(job_id=uuid.uuid4().hex[:24], kind=kind, params=params)


lost_jobs: dict[str, JobSpec] = {}  # every lost job by id, as the fleet's records keep them


def burst(provider: Provider, kind: str, redis_client) -> tuple[dict[str, str], float]:
    """Creates ``BURST`` jobs; the first ``LOST`` lose their answer, the others are
    tracked as the fleet tracks a created job. Returns the lost jobs' remote ids by job id
    and when the burst began (the lost creates' ``create_started``)."""
    started = time.time()
    lost: dict[str, str] = {}
    for index in range(BURST):
        job = job_of(kind, index)
        remote_id = provider.submit(job).remote_id
        if index < LOST:
            lost[job.job_id] = remote_id
            lost_jobs[job.job_id] = job
        else:  # the answer arrived: registered and recorded, as apply.track does
            redis_client.set(keys.remote_key(provider.name, remote_id), job.job_id)
            redis_client.hset(keys.job_key(job.job_id), "remote_id", remote_id)
    return lost, started


def never_created(index: int) -> JobSpec:
    """A job whose create never reached the platform, known to the fleet as lost."""
    job = job_of("agent", index)
    lost_jobs[job.job_id] = job
    return job


def searched(job_id: str, started: float) -> JobSpec:
    """The lost job as the fleet searches for it: same id and params, the create's start."""
    return dataclasses.replace(lost_jobs[job_id], create_started=started)


def requests(control: EmulatorControl, platform: str) -> dict[str, int]:
    return control.provider_stats(platform)["requests_by_endpoint"]


@pytest.mark.parametrize(("kind", "listing"), [
    ("agent", "GET /agent-executions"),
    ("pipeline", "GET /pipeline-executions"),
])
def test_lost_moderately_creates_in_a_burst_are_each_found_by_one_walk(
    emulator, redis_client, kind, listing
):
    provider = moderately_provider(emulator, redis_client)
    lost, started = burst(provider, kind, redis_client)
    for job_id, remote_id in lost.items():
        found = provider.find(searched(job_id, started))
        assert found is not None and found.remote_id == remote_id
    counts = requests(emulator, "moderately")
    # one walk of BURST rows in pages of PAGE, not one per lost job
    assert counts[listing] == BURST // PAGE
    assert emulator.provider_stats("moderately")["executions_created"] == BURST


def test_lost_msa_creates_in_a_burst_are_each_found_and_only_unclaimed_rows_read_back(
    emulator, redis_client
):
    provider = openprotein_provider(emulator, redis_client)
    lost, started = burst(provider, "msa", redis_client)
    for job_id, remote_id in lost.items():
        found = provider.find(searched(job_id, started))
        assert found is not None and found.remote_id == remote_id
    counts = requests(emulator, "openprotein")
    assert counts["GET /v1/jobs"] == BURST // PAGE + 1  # one walk, to its empty page
    # each lost job's input read once by the walk, once more when its job compares it
    assert counts["GET /v1/align/inputs"] == 2 * LOST
    assert emulator.provider_stats("openprotein")["jobs_created"] == BURST


def test_a_create_that_never_reached_the_platform_is_not_found_and_others_still_are(
    emulator, redis_client
):
    provider = moderately_provider(emulator, redis_client)
    lost, started = burst(provider, "agent", redis_client)
    never = never_created(999)
    assert provider.find(searched(never.job_id, started)) is None
    job_id, remote_id = next(iter(lost.items()))
    assert provider.find(searched(job_id, started)).remote_id == remote_id


def test_a_job_that_claimed_its_remote_job_but_died_before_recording_it_still_finds_it(
    emulator, redis_client
):
    provider = openprotein_provider(emulator, redis_client)
    lost, started = burst(provider, "msa", redis_client)
    job_id, remote_id = next(iter(lost.items()))
    redis_client.set(keys.remote_key("openprotein", remote_id), job_id)  # claimed, no record
    assert provider.find(searched(job_id, started)).remote_id == remote_id


@pytest.mark.parametrize("platform", ["moderately", "openprotein"])
def test_workers_searching_at_once_each_find_their_own(emulator, redis_client, platform):
    make = moderately_provider if platform == "moderately" else openprotein_provider
    providers = [make(emulator, redis_client) for _ in range(3)]  # three worker processes
    lost, started = burst(providers[0], "agent" if platform == "moderately" else "msa",
                          redis_client)
    answers: dict[str, str | None] = {}
    errors: list[BaseException] = []
    waits: list[Throttled] = []

    def search(provider: Provider, job_id: str) -> None:
        try:
            while True:  # a walk under way elsewhere: asked again later, as the fleet does
                try:
                    found = provider.find(searched(job_id, started))
                    break
                except Throttled as exc:
                    waits.append(exc)
                    time.sleep(exc.retry_after or 0.1)
            answers[job_id] = None if found is None else found.remote_id
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=search, args=(providers[i % 3], job_id))
               for i, job_id in enumerate(lost)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert answers == lost
    assert all(isinstance(wait, shared_find.WalkUnderWay) for wait in waits)


def test_a_walk_past_its_bound_fails_the_search_and_creates_nothing(
    emulator, redis_client, monkeypatch
):
    monkeypatch.setattr(shared_walk, "WALK_MAX_PAGES", BURST // PAGE - 1)
    provider = moderately_provider(emulator, redis_client)
    lost, started = burst(provider, "agent", redis_client)
    job_id = next(iter(lost))
    with pytest.raises(SearchInconclusive) as caught:
        provider.find(searched(job_id, started))
    assert caught.value.reason == "submit_unknown"
    assert str(caught.value) == (
        f"moderately: searched for the job a lost create may have made and stopped: more than "
        f"{BURST // PAGE - 1} pages of recent jobs; not created again, to never run the job twice")
    assert emulator.provider_stats("moderately")["executions_created"] == BURST


def test_a_search_while_another_process_walks_is_asked_again_then_answered(
    emulator, redis_client, monkeypatch
):
    monkeypatch.setattr(shared_find, "HOLD_S", 0.0)  # hands back at once instead of waiting
    provider = moderately_provider(emulator, redis_client)
    lost, started = burst(provider, "pipeline", redis_client)
    job_id, remote_id = next(iter(lost.items()))
    credential = fingerprint("moderately", moderately_settings(emulator))
    lock = f"{keys.find_prefix(credential)}pipeline:pcv_burst:lock"
    redis_client.set(lock, "another process")
    with pytest.raises(shared_find.WalkUnderWay) as caught:
        provider.find(searched(job_id, started))
    assert caught.value.retry_after >= shared_find.WAIT_S  # no error counted, asked later
    assert "GET /pipeline-executions" not in requests(emulator, "moderately")
    redis_client.delete(lock)  # that walk ended without recording anything
    assert provider.find(searched(job_id, started)).remote_id == remote_id


def scope_lock(control: EmulatorControl, kind: str, config: str) -> str:
    credential = fingerprint("moderately", moderately_settings(control))
    return f"{keys.find_prefix(credential)}{kind}:{config}:lock"


def test_a_search_waits_in_its_step_for_the_walk_under_way_then_is_answered(
    emulator, redis_client
):
    provider = moderately_provider(emulator, redis_client)
    lost, started = burst(provider, "agent", redis_client)
    job_id, remote_id = next(iter(lost.items()))
    lock = scope_lock(emulator, "agent", "acv_burst")
    redis_client.set(lock, "another process")
    pauses: list[float] = []

    def walk_ends(seconds: float) -> None:  # the other process's walk ends while we wait
        pauses.append(seconds)
        redis_client.delete(lock)

    provider.shared.sleep = walk_ends
    assert provider.find(searched(job_id, started)).remote_id == remote_id  # no hand-back
    assert pauses == [shared_find.HOLD_POLL_S]


def test_a_walk_before_the_create_settled_finds_it_but_never_shows_it_absent(
    emulator, redis_client
):
    provider = moderately_provider(emulator, redis_client)
    lost, started = burst(provider, "agent", redis_client)
    never = never_created(998)
    settling = dataclasses.replace(searched(never.job_id, started), settle_at=time.time() + 60)
    with pytest.raises(shared_find.WalkUnderWay) as caught:
        provider.find(settling)  # walked: not there, but it may still be processed
    assert 0 < caught.value.retry_after <= 60
    assert "the create may still be processed" in str(caught.value)
    job_id, remote_id = next(iter(lost.items()))  # one that is there is found meanwhile
    early = dataclasses.replace(searched(job_id, started), settle_at=time.time() + 60)
    assert provider.find(early).remote_id == remote_id
    other = never_created(997)  # settled now
    settled = dataclasses.replace(searched(other.job_id, started), settle_at=time.time())
    assert provider.find(settled) is None  # a walk begun after settling shows it absent


def test_a_search_whose_create_settles_within_the_hold_waits_for_it_in_its_step(
    emulator, redis_client
):
    """A create cut short by a kill is resumed a lease later, a few seconds before it
    settles: its search waits for that here and walks again, instead of a round trip
    through the queue; and it still never concludes "none" before the create settled."""
    provider = moderately_provider(emulator, redis_client)
    _, started = burst(provider, "agent", redis_client)
    never = never_created(996)
    settle_at = time.time() + 1.0
    assert provider.find(dataclasses.replace(searched(never.job_id, started),
                                             settle_at=settle_at)) is None
    walked = provider.shared.walker.last("agent:acv_burst")
    assert walked is not None and walked.started >= settle_at


def test_a_walk_that_ends_makes_the_searches_waiting_on_it_due_at_once(
    emulator, redis_client, monkeypatch
):
    monkeypatch.setattr(shared_find, "HOLD_S", 0.0)
    provider = moderately_provider(emulator, redis_client)
    lost, started = burst(provider, "agent", redis_client)
    (waiting, _), (held, _), (walker, walker_remote) = list(lost.items())[:3]
    due = keys.due_key("submit", "moderately")
    later = time.time() + 300
    lock = scope_lock(emulator, "agent", "acv_burst")
    redis_client.set(lock, "another process")
    for job_id in (waiting, held):  # both asked while another process walked
        with pytest.raises(shared_find.WalkUnderWay):
            provider.find(searched(job_id, started))
        redis_client.hset(keys.job_key(job_id), mapping={"state": "submitting"})
        redis_client.zadd(due, {job_id: later})  # handed back to wait, as the step does
    redis_client.hset(keys.job_key(held), "lease_until", f"{later:.6f}")  # a step holds it
    redis_client.delete(lock)
    assert provider.find(searched(walker, started)).remote_id == walker_remote  # walks
    assert redis_client.zscore(due, waiting) <= time.time()  # woken: asks again at once
    assert redis_client.zscore(due, held) == later  # a job a step holds is left alone


def test_a_walk_keeps_its_short_lock_while_it_runs_and_records_each_chunks_marks_at_once(
    redis_client, monkeypatch
):
    """A killed walker frees the scope within LOCK_S, so the lock must be renewed while a
    live walk runs however long its requests take; and what a walk cut short read is kept."""
    monkeypatch.setattr(shared_walk, "LOCK_S", 0.3)
    monkeypatch.setattr(shared_walk, "CHUNK", 2)
    shared = shared_find.SharedFind(redis_client, "cred-walk", "moderately")
    prefix = keys.find_prefix("cred-walk")
    now, mid_walk = time.time(), {}

    def walk(since: float, budget: Any) -> Iterator[Candidate]:
        yield Candidate("r1", now, {})
        yield Candidate("r2", now, {})
        time.sleep(1.0)  # a slow page: over three lock lengths
        mid_walk.update(lock=redis_client.pttl(f"{prefix}scope:lock"),
                        mark=redis_client.hget(f"{prefix}marks", "job-a"))
        yield Candidate("r3", now, {})

    markers = {"r1": "job-a", "r2": None, "r3": "job-b"}
    assert shared.settle("job-b", "attempt-1", "scope", now - 10, walk,
                         lambda row, budget: markers[row.remote_id]) == "r3"
    assert 0 < mid_walk["lock"] <= 300  # still held, and only ever for a short while
    assert mid_walk["mark"] == "r1"  # the first chunk's marker, recorded before the walk ended
    assert redis_client.exists(f"{prefix}scope:lock") == 0  # released at the end
