"""``jobfleet report`` writes one self-contained HTML file that a real headless Chromium renders
with its plots; ``wait`` ends with the same summary and ``status`` shows failures by reason."""

from __future__ import annotations

import base64
import re
import subprocess
import sys
from collections import Counter

import pytest

from devtools.localfleet import REPO
from tests.fixtures.fleet import wait_done
from tests.fixtures.flower import dump_dom, screenshot
from tests.integration.test_monitor_pages import mixed_jobs

pytestmark = pytest.mark.integration


def jobfleet(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "producers.cli", *args], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def ended(workers, fleet_environment, emulator):
    from config.settings import FleetSettings
    from producers.api import Fleet

    api = Fleet(FleetSettings(redis_url=fleet_environment["JOBFLEET_REDIS_URL"]))
    batch = api.enqueue_batch(emulator.plan_jobs(mixed_jobs()), batch="report-mixed")
    status = wait_done(api, batch, timeout_s=90)
    lines = list(api.results(batch))
    api.close()
    return batch, status, lines


def test_report_is_one_file_with_its_plots_and_true_numbers(ended, fleet_environment, tmp_path):
    batch, status, lines = ended
    out = tmp_path / "report.html"
    done = jobfleet(fleet_environment, "report", batch, "--out", str(out))
    assert done.returncode == 0, done.stderr
    html = out.read_text()
    assert not re.search(r'(src|href)="https?://', html)  # nothing to fetch: no network needed
    images = re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', html)
    assert len(images) == 5
    assert all(base64.b64decode(i).lstrip().startswith(b"<?xml") for i in images)
    dom = dump_dom(out.as_uri())
    for state, n in status["states"].items():
        assert f'data-state="{state}">{n}<' in dom
    for reason, n in Counter(x["reason"] for x in lines if x["state"] == "failed").items():
        assert re.search(rf'data-reason="{reason}"><td><code>{reason}</code></td>'
                         rf'<td class="n">{n}</td>', dom)
    shot = screenshot(out.as_uri(), tmp_path / "report.png", size="1200,2400")
    assert shot.stat().st_size > 20_000  # rendered, plots and all


def test_unknown_batch_and_missing_batch_name_are_one_line(fleet_environment, tmp_path):
    done = jobfleet(fleet_environment, "report", "no-such-batch", "--out", str(tmp_path / "x"))
    assert done.returncode == 1 and done.stderr.strip() == "jobfleet: unknown batch " \
        "'no-such-batch'"


def test_wait_ends_with_the_summary_and_status_shows_failures(ended, fleet_environment):
    batch, status, lines = ended
    waited = jobfleet(fleet_environment, "wait", batch)
    assert waited.returncode == 0, waited.stderr
    assert f"batch {batch}: {status['total']} jobs" in waited.stdout
    reasons = Counter(x["reason"] for x in lines if x["state"] == "failed")
    shown = jobfleet(fleet_environment, "status", batch).stdout
    assert "failures by reason:" in shown
    for reason, n in reasons.items():
        assert f"  {reason} ×{n}: " in waited.stdout and f"  {reason} ×{n}: " in shown
