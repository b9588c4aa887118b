"""OpenProtein status sweeps against the emulator over real HTTP: where the list window opens.

A sweep lists ``v1/jobs?more_recent_than=T``. T opens 120 s before the oldest watched job
until a row's ``created_date`` has shown how far the platform's clock lags ours, then that
lag + a margin before it (``paging.CreationWindow``): jobs that ended long before are not
read again on every walk, and a job created near the edge is still seen.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from emulator.control import EmulatorControl
from tests.fixtures.providers import wait_terminal
from tests.integration.test_openprotein_provider import (  # noqa: F401 (the module's emulator)
    FAST,
    LONG,
    SEED,
    make_provider,
    msa_job,
    private_emulator,
)
from worker.providers import paging
from worker.providers.openprotein import provider as openprotein
from worker.providers.openprotein.provider import OpenProteinProvider
from worker.providers.types import RemoteState, RemoteStatus, Watched

pytestmark = pytest.mark.integration

LAG_S = 60.0  # how far behind our clock the tests pretend the platform dates its jobs


@pytest.fixture
def provider(fresh_emulator, redis_client) -> Iterator[OpenProteinProvider]:
    made = make_provider(fresh_emulator, redis_client)
    yield made
    made.close()


def swept(provider: OpenProteinProvider, watched: list[Watched]) -> dict[str, RemoteStatus]:
    """One sweep's findings: remote id → status."""
    return {remote_id: status for page in provider.sweep(watched) for remote_id, status in page}


def list_requests(control: EmulatorControl) -> int:
    return control.provider_stats("openprotein")["requests_by_endpoint"].get("GET /v1/jobs", 0)


def test_jobs_that_ended_long_before_the_oldest_watched_one_are_not_read_again(
    provider, fresh_emulator, monkeypatch
):
    monkeypatch.setattr(openprotein, "LIST_PAGE_SIZE", 2)
    monkeypatch.setattr(paging, "SKEW_MARGIN_S", 1.0)  # so the burst need be only 1 s older
    for index in range(10):  # a burst that ends at once, no longer watched
        provider.submit(msa_job(FAST, sequences=[SEED + "A" * (index + 1)]))
    time.sleep(paging.SKEW_MARGIN_S + 0.5)
    started = time.time()
    mine = {provider.submit(msa_job(LONG)).remote_id for _ in range(2)}
    watched = [Watched(remote_id, "msa", started) for remote_id in mine]

    first = swept(provider, watched)
    assert list_requests(fresh_emulator) == 7  # the 120 s allowance: 12 rows by 2, then empty
    second = swept(provider, watched)
    assert list_requests(fresh_emulator) == 7 + 2  # the learned window: our 2 rows, then empty
    assert set(first) == set(second) == mine


def test_a_job_created_near_the_windows_edge_is_still_seen_to_end(provider, fresh_emulator):
    def dated(remote_id: str) -> float:  # when the platform says it created the job
        return fresh_emulator.job("openprotein", remote_id)["created_at"]

    first = provider.submit(msa_job(LONG)).remote_id
    # Our clock says the create began LAG_S after the platform dated it; the first walk
    # (120 s early) sees it and learns that lag.
    assert set(swept(provider, [Watched(first, "msa", dated(first) + LAG_S)])) == {first}
    # A later job dated 4 s further back still (a slower clock, a create that took long):
    # the window's margin keeps it a second inside the edge, and its end is seen.
    edge = provider.submit(msa_job(FAST)).remote_id
    assert wait_terminal(provider, edge, "msa").state is RemoteState.SUCCEEDED
    seen = swept(provider, [Watched(edge, "msa", dated(edge) + LAG_S + 4.0)])
    assert edge in seen and seen[edge].state is RemoteState.SUCCEEDED
