"""The fleet page and /metrics show what holds a platform back: a refused credential being
remembered, and a fleet-wide pause after a 429, as a real headless Chromium renders them."""

from __future__ import annotations

import time

import pytest

from emulator.samples import sample_job
from monitor.fleet import read_fleet
from tests.fixtures.fleet import private_fleet, wait_done
from tests.fixtures.flower import dump_dom, running_flower
from tests.integration.test_monitor_pages import parse

pytestmark = pytest.mark.integration
BAD_TOKEN = "refused-token-0123456789-do-not-show"


def test_refusals_and_429_pauses_are_shown_per_platform(private_emulator, tmp_path):
    private_emulator.configure("moderately", fault_429=1.0, retry_after=120)
    with private_fleet(private_emulator, tmp_path, DO_AUTH_TOKEN=BAD_TOKEN) as (api, pool), \
            running_flower(pool.env, tmp_path) as flower:
        refused = [sample_job(f"do-{i}", "deeporigin", "tool") for i in range(3)]
        wait_done(api, api.enqueue_batch(private_emulator.plan_jobs(refused), batch="refused"))
        api.enqueue_batch(private_emulator.plan_jobs(
            [sample_job("md", "moderately", "agent")]), batch="throttled")
        deadline = time.monotonic() + 30
        while not read_fleet(api.store.redis, ["moderately"], lambda _: None)[0].pauses:
            assert time.monotonic() < deadline, "no 429 pause recorded"
            time.sleep(0.2)
        html = dump_dom(f"{flower.url}/jobfleet/fleet")
        page = parse(html)
        assert "HTTP 401" in page.value(("data-platform", "deeporigin"), ("data-field", "refused"))
        assert page.value(("data-platform", "moderately"), ("data-field", "refused")) == "—"
        assert page.value(("data-platform", "moderately"), ("data-field", "pause")).endswith("left")
        assert page.value(("data-platform", "deeporigin"), ("data-field", "pause")) == "—"
        assert BAD_TOKEN not in html
        metrics = flower.get("/metrics").text
        assert 'jobfleet_credential_refused{platform="deeporigin"} 1.0' in metrics
        assert 'jobfleet_credential_refused{platform="moderately"} 0.0' in metrics
        paused = next(line for line in metrics.splitlines()
                      if line.startswith('jobfleet_paused_seconds{platform="moderately"}'))
        assert 60 < float(paused.split()[-1]) <= 120
        assert BAD_TOKEN not in metrics
