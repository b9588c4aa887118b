"""A fleet-wide request limit holds across worker processes, as the platform sees it."""

from __future__ import annotations

import time

import pytest

from emulator.samples import sample_job
from tests.fixtures.fleet import private_fleet, wait_done

pytestmark = pytest.mark.integration
RPS, BURST, WORKERS = 20, 5, 4
# Tokens are granted by Redis's clock, the window is counted by the emulator's: on a loaded
# machine a request granted late in one second can arrive in the next. A quarter of a
# second of such delivery jitter is allowed; without the limit the fleet sends hundreds.
JITTER_S = 0.25


def test_four_workers_never_exceed_the_limit_plus_burst_in_any_second(fresh_emulator, tmp_path):
    jobs = [sample_job(f"rl-{i}", "deeporigin", "tool", duration_s=0.2) for i in range(70)]
    with private_fleet(fresh_emulator, tmp_path, workers=WORKERS,
                       JOBFLEET_DEEPORIGIN_RPS=str(RPS),
                       JOBFLEET_DEEPORIGIN_BURST=str(BURST)) as (fleet, _):
        started = time.monotonic()
        batch = fleet.enqueue_batch(jobs, batch="rate-limited")
        status = wait_done(fleet, batch, timeout_s=120)
        took = time.monotonic() - started
    assert status["states"]["succeeded"] == 70
    stats = fresh_emulator.stats(brief=True)["deeporigin"]
    ours = {cred: n for cred, n in stats["max_requests_in_any_1s_window"].items()
            if cred != "anonymous"}  # signed storage URLs carry no credential
    [(credential, busiest)] = ours.items()
    assert busiest <= RPS * (1 + JITTER_S) + BURST
    sent = stats["requests_by_credential"][credential]
    assert took >= (sent - BURST) / RPS - 1, "the limit did not bind: the test proves nothing"
