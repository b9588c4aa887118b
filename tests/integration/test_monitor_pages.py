"""The fleet's pages inside Flower, loaded by a real headless Chromium: the numbers they show
are the batch's true counts, failures are grouped by reason, and Flower's own pages still work."""

from __future__ import annotations

import json
import re
from collections import Counter
from html.parser import HTMLParser

import pytest

from emulator.samples import KINDS, sample_job
from tests.fixtures.fleet import wait_done
from tests.fixtures.flower import dump_dom

pytestmark = pytest.mark.integration


def mixed_jobs() -> list[dict]:
    """Jobs on every platform: most succeed, some fail remotely, one outlives its deadline,
    one is refused before any request (a pipeline summary over the platform's limit)."""
    jobs = []
    for i in range(12):
        provider, kind = KINDS[i % len(KINDS)]
        failing = i in (1, 6, 8)
        jobs.append(sample_job(f"job-{i:02d}", provider, kind, duration_s=0.5,
                               outcome="failed" if failing else "succeeded",
                               reason="did not converge" if failing else None))
    jobs.append(sample_job("slow", "deeporigin", "tool", duration_s=600, deadline_s=1))
    too_long = sample_job("summary", "moderately", "pipeline")
    too_long["params"]["pipelineInputSummary"] = "x" * 1200
    jobs.append(too_long)
    return jobs


class Cells(HTMLParser):
    """Collects text of elements carrying data-* attributes, keyed by their path of attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[dict] = []
        self.found: dict[tuple, str] = {}

    def handle_starttag(self, tag, attrs):
        self.stack.append({k: v for k, v in attrs if k.startswith("data-") or k == "id"})

    def handle_endtag(self, tag):
        if self.stack:
            self.stack.pop()

    def handle_data(self, data):
        path = tuple(tuple(sorted(a.items())) for a in self.stack if a)
        if path and data.strip():
            self.found[path] = self.found.get(path, "") + data.strip()

    def value(self, *attrs: tuple[str, str]) -> str:
        """Text of the innermost element whose ancestors carry all ``attrs`` in order."""
        for path, text in self.found.items():
            flat = [pair for level in path for pair in level]
            if _in_order(flat, attrs):
                return text
        raise KeyError(attrs)


def _in_order(flat: list, wanted: tuple) -> bool:
    it = iter(flat)
    return all(any(pair == w for pair in it) for w in wanted)


def parse(html: str) -> Cells:
    cells = Cells()
    cells.feed(html)
    return cells


@pytest.fixture(scope="module")
def finished_batch(workers, fleet_environment, emulator):
    from config.settings import FleetSettings
    from producers.api import Fleet

    api = Fleet(FleetSettings(redis_url=fleet_environment["JOBFLEET_REDIS_URL"]))
    batch = api.enqueue_batch(emulator.plan_jobs(mixed_jobs()), batch="pages-mixed")
    status = wait_done(api, batch, timeout_s=90)
    lines = list(api.results(batch))
    api.close()
    return batch, status, lines


def test_batch_page_shows_the_true_counts_and_failures_by_reason(flower, finished_batch):
    batch, status, lines = finished_batch
    html = dump_dom(f"{flower.url}/jobfleet/batches/{batch}")
    page = parse(html)
    for state, n in status["states"].items():
        assert page.value(("id", "jobfleet-states"), ("data-state", state)) == str(n)
    assert page.value(("id", "jobfleet-batch"), ("data-field", "total")) == str(status["total"])
    reasons = Counter(line["reason"] for line in lines if line["state"] == "failed")
    assert len(reasons) >= 3, reasons  # remote failure, deadline, refused params
    for reason, n in reasons.items():
        assert page.value(("data-reason", reason), ("data-field", "jobs")) == str(n)
    per_platform = Counter((line["provider"], line["state"]) for line in lines)
    for (platform, state), n in per_platform.items():
        assert page.value(("id", "jobfleet-platforms"), ("data-platform", platform),
                          ("data-state", state)) == str(n)
    assert f'aria-label="{status["total"]} of {status["total"]} jobs ended' in html  # the chart


def test_batch_list_and_navigation_link_to_the_batch(flower, finished_batch):
    batch, status, _ = finished_batch
    html = dump_dom(f"{flower.url}/jobfleet/batches")
    page = parse(html)
    assert page.value(("data-batch", batch), ("data-field", "total")) == str(status["total"])
    assert page.value(("data-batch", batch), ("data-state", "failed")) == \
        str(status["states"]["failed"])
    assert 'href="/jobfleet/batches"' in html and 'href="/jobfleet/fleet"' in html  # navbar
    workers_page = dump_dom(f"{flower.url}/workers")  # Flower's own page, with our links
    assert 'href="/jobfleet/fleet"' in workers_page and "Workers" in workers_page


def test_job_page_by_batch_and_key_shows_record_and_timeline(flower, finished_batch):
    batch, _, lines = finished_batch
    line = next(x for x in lines if x["state"] == "succeeded")
    page = parse(dump_dom(f"{flower.url}/jobfleet/job?batch={batch}&key={line['key']}"))
    assert page.value(("data-field", "state")) == "succeeded"
    assert page.value(("data-name", "remote_id"), ("data-field", "value")) == line["remote_id"]
    assert json.loads(page.value(("data-name", "result"), ("data-field", "value"))) == \
        line["result"]  # the result's manifest: where its files are
    for mark in ("t_queued", "t_submitting", "t_running", "t_succeeded"):
        assert page.value(("data-name", mark), ("data-field", "mark")) == mark


def test_fleet_page_lists_every_platform(flower, finished_batch):
    html = dump_dom(f"{flower.url}/jobfleet/fleet")
    page = parse(html)
    for platform in ("deeporigin", "moderately", "openprotein"):
        assert re.fullmatch(r"\d+ / (\d+|∞)", page.value(("data-platform", platform),
                                                          ("data-field", "in_flight")))


def test_flowers_own_pages_still_work(flower, finished_batch):
    for path in ("/", "/workers", "/tasks", "/broker", "/api/workers"):
        assert flower.get(path).status_code in (200, 401), path  # its API wants a login
    assert flower.get("/tasks").status_code == 200
    assert flower.get("/jobfleet/batches/no-such-batch").status_code == 404
