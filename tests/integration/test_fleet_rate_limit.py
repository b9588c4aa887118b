"""A fleet-wide request limit holds across worker processes, as the platform sees it."""

from __future__ import annotations

import pytest

from emulator.samples import sample_job
from tests.fixtures.fleet import private_fleet, wait_done
from tests.fixtures.pace import beyond, requests_with, sampled

pytestmark = pytest.mark.integration
RPS, BURST, WORKERS = 20, 5, 4


def test_four_workers_together_never_send_more_than_the_burst_plus_the_rate_so_far(
    fresh_emulator, tmp_path
):
    jobs = [sample_job(f"rl-{i}", "deeporigin", "tool", duration_s=0.2) for i in range(70)]
    with (private_fleet(fresh_emulator, tmp_path, workers=WORKERS,
                        JOBFLEET_DEEPORIGIN_RPS=str(RPS),
                        JOBFLEET_DEEPORIGIN_BURST=str(BURST)) as (fleet, _),
          sampled(requests_with(fresh_emulator, "deeporigin")) as seen):
        batch = fleet.enqueue_batch(jobs, batch="rate-limited")
        status = wait_done(fleet, batch, timeout_s=120)
    assert status["states"]["succeeded"] == 70
    assert not beyond(seen, RPS, BURST), f"more than {BURST} + {RPS}/s so far (s, requests)"
    took, sent = seen[-1]
    assert took >= (sent - BURST) / RPS - 1, "the limit did not bind: the test proves nothing"
