"""``jobfleet flower`` is safe by default: loopback unless told, never exposed without a login,
every page (``/metrics`` included) behind the login, and no credential on any page."""

from __future__ import annotations

import subprocess
import sys

import pytest

from devtools.localfleet import REPO
from emulator.samples import sample_job
from tests.fixtures.fleet import wait_done
from tests.fixtures.flower import running_flower

pytestmark = pytest.mark.integration

LOGIN = ("watcher", "s3cret-flower-pw")


def flower_exit(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "producers.cli", "flower", *args], env=env,
                          cwd=REPO, capture_output=True, text=True, timeout=60)


def test_a_public_address_without_a_login_is_refused_in_one_line(fleet_environment):
    env = {k: v for k, v in fleet_environment.items() if not k.startswith("FLOWER_")}
    for args in (["--address", "0.0.0.0"], ["--address=0.0.0.0", "--port=0"]):
        done = flower_exit(env, *args)
        assert done.returncode == 2
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "refusing to serve Flower on 0.0.0.0 without a login" \
            in lines[0], done.stderr


def test_bad_flower_options_get_one_line(fleet_environment):
    for args, words in ((["--no-such-option=1"], "unknown Flower option --no-such-option"),
                        (["--port"], "option --port needs a value"),
                        (["--port=abc"], "option --port needs a number")):
        done = flower_exit(fleet_environment, *args)
        assert done.returncode == 2, done
        assert len(done.stderr.strip().splitlines()) == 1 and words in done.stderr, done.stderr


@pytest.fixture(scope="module")
def guarded(fleet_environment, workers, tmp_path_factory):
    """Flower on every interface, with basic auth (the only way it may listen there)."""
    with running_flower(fleet_environment, tmp_path_factory.mktemp("guarded"),
                        ["--address=0.0.0.0"], FLOWER_BASIC_AUTH=":".join(LOGIN)) as server:
        yield server


PAGES = ("/", "/workers", "/tasks", "/broker", "/metrics", "/jobfleet/batches",
         "/jobfleet/fleet", "/jobfleet/api/batches/{batch}")


def test_with_a_login_every_page_including_metrics_needs_it(guarded, fleet):
    batch = fleet.enqueue_batch([sample_job("a", "deeporigin", "tool", duration_s=0.2)],
                                batch="guarded-1")
    wait_done(fleet, batch)
    pages = [p.format(batch=batch) for p in PAGES] + [f"/jobfleet/batches/{batch}"]
    for path in pages:
        assert guarded.get(path).status_code == 401, path
        assert guarded.get(path, auth=("watcher", "wrong")).status_code == 401, path
        assert guarded.get(path, auth=LOGIN).status_code == 200, path


def test_metrics_can_be_opened_explicitly(fleet_environment, workers, tmp_path):
    with running_flower(fleet_environment, tmp_path, ["--open-metrics"],
                        FLOWER_BASIC_AUTH=":".join(LOGIN)) as server:
        assert server.get("/metrics").status_code == 200
        assert server.get("/jobfleet/batches").status_code == 401


def test_no_configured_credential_appears_on_any_page(guarded, fleet, fleet_environment,
                                                      emulator):
    jobs = [sample_job(f"k{i}", p, k, duration_s=0.2) for i, (p, k) in enumerate(
        [("deeporigin", "tool"), ("moderately", "agent"), ("openprotein", "msa")])]
    batch = fleet.enqueue_batch(emulator.plan_jobs(jobs), batch="guarded-secrets")
    wait_done(fleet, batch)
    secrets = [fleet_environment[name] for name in ("DO_AUTH_TOKEN", "MODERATELY_API_KEY",
                                                    "OPENPROTEIN_PASSWORD")]
    secrets.append(LOGIN[1])
    job_id = fleet.job_id(batch, "k0")
    pages = [p.format(batch=batch) for p in PAGES] + [
        f"/jobfleet/batches/{batch}", f"/jobfleet/job?id={job_id}",
        f"/jobfleet/api/batches/{batch}/results"]
    for path in pages:
        body = guarded.get(path, auth=LOGIN).text
        for secret in secrets:
            assert secret not in body, f"a configured credential is shown on {path}"


def test_the_cancel_button_needs_the_login(guarded, flower, fleet, emulator):
    jobs = [sample_job(f"long-{i}", "deeporigin", "tool", duration_s=300) for i in range(2)]
    batch = fleet.enqueue_batch(emulator.plan_jobs(jobs), batch="guarded-cancel")
    page = f"/jobfleet/batches/{batch}"
    assert 'id="jobfleet-cancel"' in guarded.get(page, auth=LOGIN).text
    assert 'id="jobfleet-cancel"' not in flower.get(page).text  # no login configured: no button
    assert flower.post(f"{page}/cancel").status_code == 403
    assert guarded.post(f"{page}/cancel").status_code == 401
    done = guarded.post(f"{page}/cancel", auth=LOGIN, allow_redirects=False)
    assert done.status_code == 302 and done.headers["Location"] == page
    assert wait_done(fleet, batch)["states"]["cancelled"] == 2
    assert 'id="jobfleet-cancel"' not in guarded.get(page, auth=LOGIN).text  # all ended
