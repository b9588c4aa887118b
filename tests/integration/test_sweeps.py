"""Status sweeps end to end: real workers, real Redis, the emulator's list endpoints over HTTP.

The shared test fleet runs with ``JOBFLEET_SWEEP_FALLBACK_S=4``: a job no sweep has seen
for 4 s gets its own status request, so the fallback is exercised within the test's time.
"""

from __future__ import annotations

import random
import time

import pytest

from emulator.samples import KINDS, sample_job
from tests.fixtures.fleet import wait_done

pytestmark = pytest.mark.integration

# The per-job status request of each platform, as the emulator labels its endpoints.
STATUS_GET = {
    "deeporigin": "GET /tools/{org}/tools/executions/{execution_id}",
    "moderately": "GET /agent-executions/{id}",
    "openprotein": "GET /v1/jobs/{job_id}",
    "jobsapi": "GET /v2/tasks/{token}",
}
LISTS = {
    "deeporigin": "GET /tools/{org}/tools/executions",
    "moderately": "GET /agent-executions",
    "openprotein": "GET /v1/jobs",
}
# The spec-file platform (examples/providers/jobsapi.toml), swept through its [list] by ids.
SPEC_LISTS = {"jobsapi": "GET /v2/tasks"}
KIND = {"deeporigin": "tool", "moderately": "agent", "openprotein": "msa", "jobsapi": "task"}


def requests(emulator, provider: str) -> dict[str, int]:
    return emulator.stats(brief=True)[provider]["requests_by_endpoint"]


def delta(before: dict[str, int], after: dict[str, int], label: str) -> int:
    return after.get(label, 0) - before.get(label, 0)


@pytest.mark.parametrize("provider", ["deeporigin", "moderately", "openprotein", "jobsapi"])
def test_a_batch_is_detected_by_sweeps_with_fewer_status_requests_than_jobs(
    fleet, emulator, batch_name, provider, example_providers
):
    rng = random.Random(8)
    jobs = [sample_job(f"swept-{i}", provider, KIND[provider],
                       duration_s=round(rng.uniform(0.5, 2.5), 2)) for i in range(30)]
    before = requests(emulator, provider)
    batch = fleet.enqueue_batch(emulator.plan_jobs(jobs), batch=batch_name)
    status = wait_done(fleet, batch, timeout_s=60)
    after = requests(emulator, provider)
    assert status["states"]["succeeded"] == 30
    assert delta(before, after, {**LISTS, **SPEC_LISTS}[provider]) >= 1, after
    assert delta(before, after, STATUS_GET[provider]) < 30, after


def test_a_job_the_lists_never_show_is_finished_by_its_own_status_request(
    fleet, emulator, batch_name
):
    jobs = [sample_job("hidden", "deeporigin", "tool", duration_s=0.5, unlisted=True),
            *(sample_job(f"shown-{i}", "deeporigin", "tool", duration_s=0.5) for i in range(4))]
    before = requests(emulator, "deeporigin")
    batch = fleet.enqueue_batch(jobs, batch=batch_name)
    status = wait_done(fleet, batch, timeout_s=40)
    assert status["states"]["succeeded"] == 5
    assert delta(before, requests(emulator, "deeporigin"), STATUS_GET["deeporigin"]) >= 1


def test_failing_sweeps_are_retried_and_lose_nothing(fleet, emulator, workers, batch_name):
    # Platforms whose creates carry our job id, so a create lost to a fault is found again
    # (OpenProtein's would fail submit_unknown: right, but not what this test is about).
    tagged = [(p, k) for p, k in KINDS if p != "openprotein"]
    # Long enough that the jobs are still running when the faults start, on a busy machine too.
    jobs = [sample_job(f"rough-{i}", provider, kind, duration_s=8.0 + i % 3)
            for i, (provider, kind) in enumerate(tagged * 4)]
    before = emulator.stats(brief=True)
    created = {p: before[p]["jobs_created"] for p in LISTS}
    duplicated = {p: before[p]["duplicate_tags"] for p in LISTS}
    failed_before = workers.logs().count("sweep failed")  # the shared workers' earlier tests
    batch = fleet.enqueue_batch(emulator.plan_jobs(jobs), batch=batch_name)
    wait_for(lambda: created_all(fleet.status(batch)),  # the faults hit sweeps, not creates
             lambda: f"not every remote job was created: {fleet.status(batch)['states']}")
    try:
        emulator.configure(fault_garbage=1.0)  # every answer garbage: sweeps fail outright
        wait_for(lambda: workers.logs().count("sweep failed") > failed_before,
                 lambda: "no sweep failed on garbage answers")
        emulator.configure(fault_garbage=0.15, fault_5xx=0.15)  # then now and then
        lists_then = requests(emulator, "deeporigin").get(LISTS["deeporigin"], 0)
        status = wait_done(fleet, batch, timeout_s=120)
    finally:
        emulator.configure(fault_5xx=0, fault_garbage=0)
    assert status["states"]["succeeded"] == len(jobs), status
    stats = emulator.stats(brief=True)
    assert sum(stats[p]["jobs_created"] - created[p] for p in LISTS) == len(jobs)
    assert all(stats[p]["duplicate_tags"] == duplicated[p] for p in LISTS)  # none new
    assert requests(emulator, "deeporigin").get(LISTS["deeporigin"], 0) > lists_then  # retried


def created_all(status: dict) -> bool:
    return status["states"]["queued"] == status["states"]["submitting"] == 0


def wait_for(check, explain, timeout_s: float = 60) -> None:
    """Polls ``check`` until it holds; fails with ``explain()`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"after {timeout_s}s: {explain()}"
        time.sleep(0.1)
