"""``jobfleet_*`` metrics on Flower's ``/metrics``, scraped by a real Prometheus server and read
back through its query API: the values match ``jobfleet status`` and what the platform (the
emulator) says it answered."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections import Counter

import pytest
import requests

from devtools.localfleet import stop_process
from emulator.control import free_port
from emulator.samples import KINDS, sample_job
from tests.fixtures.fleet import private_fleet, wait_done
from tests.fixtures.flower import running_flower

pytestmark = pytest.mark.integration

LOGIN = ("prom", "scrape-pw-9")
SCRAPE_LABELS = ("job", "instance", "__name__")  # added by Prometheus, not by us
SETTLE_S = 60  # worker flush (2 s) + scrape interval (1 s), with room for a slow machine


@pytest.fixture
def prometheus_binary() -> str:
    found = shutil.which("prometheus")
    if not found:
        pytest.skip("prometheus is not installed (Debian's 'prometheus'; .ci/run installs it)")
    return found


def start_prometheus(binary: str, target: str, workdir) -> tuple[subprocess.Popen, str]:
    port = free_port()
    config = workdir / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        "  - job_name: jobfleet\n"
        f"    basic_auth: {{username: {LOGIN[0]}, password: {LOGIN[1]}}}\n"
        f"    static_configs: [{{targets: ['{target}']}}]\n")
    log = open(workdir / "prometheus.log", "wb")  # noqa: SIM115 - the child's for its life
    proc = subprocess.Popen([binary, f"--config.file={config}",
                             f"--storage.tsdb.path={workdir / 'data'}",
                             f"--web.listen-address=127.0.0.1:{port}"],
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/-/ready", timeout=2).status_code == 200:
                return proc, url
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    stop_process(proc)
    raise AssertionError((workdir / "prometheus.log").read_text()[-3000:])


def query(url: str, promql: str) -> dict[tuple, float]:
    """Series → value for an instant query, keyed by the labels other than job/instance."""
    answer = requests.get(f"{url}/api/v1/query", params={"query": promql}, timeout=10).json()
    assert answer["status"] == "success", answer
    out = {}
    for item in answer["data"]["result"]:
        labels = {k: v for k, v in item["metric"].items() if k not in SCRAPE_LABELS}
        out[tuple(sorted(labels.items()))] = float(item["value"][1])
    return out


def eventually(check, timeout_s: float = SETTLE_S):
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return check()
        except (AssertionError, KeyError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.25)


def emulator_classes(stats: dict, platform: str) -> Counter:
    out: Counter = Counter()
    for status, n in stats[platform]["responses_by_status"].items():
        code = int(status) if status.isdigit() else None
        out["error" if code is None else "429" if code == 429 else f"{code // 100}xx"] += n
    return out


def test_prometheus_reads_back_what_status_and_the_platform_say(
        private_emulator, tmp_path, prometheus_binary):
    private_emulator.configure("moderately", fault_5xx=0.15)
    private_emulator.configure("openprotein", fault_429=0.15, retry_after=0.2)
    jobs = [sample_job(f"m-{i}", *KINDS[i % len(KINDS)], duration_s=0.3,
                       outcome="failed" if i % 4 == 3 else "succeeded") for i in range(20)]
    jobs.append(sample_job("up", "openprotein", "msa", duration_s=0.3,
                           upload={"to": "moderately"}))
    with private_fleet(private_emulator, tmp_path) as (api, pool), \
            running_flower(pool.env, tmp_path, FLOWER_BASIC_AUTH=":".join(LOGIN)) as flower:
        batch = api.enqueue_batch(private_emulator.plan_jobs(jobs), batch="metrics")
        status = wait_done(api, batch, timeout_s=120)
        lines = list(api.results(batch))
        prom, url = start_prometheus(prometheus_binary, f"127.0.0.1:{flower.port}", tmp_path)
        try:
            by_platform = Counter((x["provider"], x["state"]) for x in lines)

            def jobs_match():
                got = query(url, "jobfleet_jobs")
                for (platform, state), n in by_platform.items():
                    assert got[(("platform", platform), ("state", state))] == n
                assert sum(got.values()) == status["total"]

            eventually(jobs_match)
            stats = private_emulator.stats()

            def responses_match():
                got = query(url, "jobfleet_platform_responses_total")
                for platform in ("deeporigin", "moderately", "openprotein"):
                    for code, n in emulator_classes(stats, platform).items():
                        assert got.get((("code", code), ("platform", platform))) == n, \
                            (platform, code, got)

            eventually(responses_match)
            assert query(url, 'jobfleet_platform_responses_total{code="429"}')
            assert query(url, 'jobfleet_platform_responses_total{code="5xx"}')
            uploads = query(url, "jobfleet_uploads_total")
            assert uploads == {(("outcome", "new"), ("platform", "moderately")): 1.0}
            steps = query(url, "jobfleet_step_duration_seconds_count")
            assert steps[(("step", "submit"),)] >= len(jobs)
            assert query(url, "jobfleet_detection_delay_seconds_count")
            in_flight = query(url, "jobfleet_in_flight")  # every platform, nothing left alive
            assert {(("platform", p),) for p in ("deeporigin", "moderately", "openprotein")} \
                <= set(in_flight) and set(in_flight.values()) == {0.0}
            assert query(url, "flower_events_total") is not None  # Flower's own, same target
        finally:
            stop_process(prom)
