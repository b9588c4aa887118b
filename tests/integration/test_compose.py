"""The production path: docker-compose.yml, .env.example and the pinned dependencies.

``docker-compose config`` (Debian's package validates without a Docker daemon) shows what
each container would get; no container is started here (there is no Docker engine), so the
demo profile's pieces — its credentials, its job file, its commands — are run by a local
fleet against the emulator instead.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from importlib import metadata

import pytest
import yaml

from config.settings import (
    FleetSettings,
    LimitSettings,
    MonitorSettings,
    PollSettings,
    SweepSettings,
)
from devtools.localfleet import REPO
from tests.fixtures.fleet import private_fleet
from worker.providers import specs

pytestmark = pytest.mark.integration

PLATFORM_VALUES = {
    "DO_AUTH_TOKEN": "do-token-from-env", "DO_ORG_KEY": "org-1", "DO_PROJECT_ID": "proj-1",
    "MODERATELY_API_KEY": "md-key-from-env", "MODERATELY_TEAM_ID": "team-1",
    "OPENPROTEIN_USERNAME": "op-user", "OPENPROTEIN_PASSWORD": "op-pass-from-env",
    "JOBFLEET_LEASE_S": "30", "JOBFLEET_POLL_CAP_S": "20", "JOBFLEET_DEEPORIGIN_RPS": "5",
}


def fleet_variables() -> set[str]:
    """Every variable the fleet's settings read, platforms' and limits' included."""
    names = {f"JOBFLEET_{f.upper()}" for f in FleetSettings.model_fields}
    names |= {f"JOBFLEET_POLL_{f.upper()}" for f in PollSettings.model_fields}
    names |= {f"JOBFLEET_SWEEP_{f.upper()}" for f in SweepSettings.model_fields}
    names |= {f"JOBFLEET_{f.upper()}" for f in MonitorSettings.model_fields}
    for name, spec in specs().items():
        names |= {f"JOBFLEET_{name.upper()}_{f.upper()}" for f in LimitSettings.model_fields}
        if isinstance(spec.settings, type):
            prefix = spec.settings.model_config.get("env_prefix", "")
            names |= {f"{prefix}{f.upper()}" for f in spec.settings.model_fields}
    return names


def test_env_example_names_every_variable_the_fleet_reads():
    text = (REPO / ".env.example").read_text()
    named = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", text, flags=re.M))
    assert fleet_variables() - named == set()
    assert {"REDIS_PASSWORD", "FLOWER_BASIC_AUTH"} <= named


def test_constraints_pin_every_installed_dependency_at_its_installed_version():
    pins, absent = {}, []
    for line in (REPO / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            try:
                pins[metadata.distribution(name).metadata["Name"].lower()] = version
            except metadata.PackageNotFoundError:
                absent.append(name)  # pinned for an extra this environment lacks
    assert len(absent) < len(pins), "run make install: most pinned packages are missing"
    project = metadata.distribution("jobfleet")
    wanted = {re.split(r"[\s\[<>=;!~]", r, maxsplit=1)[0].lower() for r in project.requires}
    assert {w.replace("_", "-") for w in wanted} - set(pins) == set()
    drift = {n: (v, metadata.version(n)) for n, v in pins.items() if metadata.version(n) != v}
    assert drift == {}, "the installed versions differ from constraints.txt: run make install"


def compose_tool() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True)
        if probe.returncode == 0:
            return ["docker", "compose"]
    return None


def test_compose_config_gives_the_worker_every_platform_and_tuning_variable(tmp_path):
    tool = compose_tool()
    if tool is None:
        pytest.skip("no compose tool installed (.ci/run installs Debian's docker-compose)")
    shutil.copy(REPO / "docker-compose.yml", tmp_path)
    env = (REPO / ".env.example").read_text()
    for name, value in PLATFORM_VALUES.items():
        env = re.sub(rf"^#? ?{name}=.*$", f"{name}={value}", env, flags=re.M)
    (tmp_path / ".env").write_text(env)
    run = subprocess.run([*tool, "--profile", "demo", "config"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    services = yaml.safe_load(run.stdout)["services"]
    for name in ("worker", "flower"):
        environment = services[name]["environment"]
        assert {k: environment.get(k) for k in PLATFORM_VALUES} == PLATFORM_VALUES
        assert environment["JOBFLEET_REDIS_URL"].startswith("redis://:change-me")
        assert services[name]["healthcheck"]["test"]
    assert "--requirepass" in services["redis"]["command"]
    assert "build" in services["worker"]
    images = {s["image"] for s in services.values() if s.get("image") != "redis:7-alpine"}
    assert images == {"jobfleet:latest", "jobfleet-dev:latest"}  # the emulator: --target dev
    # the production image, and the dev image for the demo profile's emulator
    assert sorted(n for n, s in services.items() if "build" in s) == ["emulator", "worker"]
    assert services["emulator"]["build"]["target"] == "dev"
    assert any(v.endswith(":/jobs:ro") for v in services["worker"]["volumes"])
    demo = services["demo-worker"]["environment"]
    assert demo["DO_AUTH_TOKEN"] and demo["MODERATELY_API_KEY"] and demo["OPENPROTEIN_PASSWORD"]


def test_the_compose_demo_runs_end_to_end_with_its_credentials(emulator, tmp_path):
    """The demo profile's worker environment and commands, on a local fleet (no Docker)."""
    services = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]
    credentials = {k: str(v).replace("http://emulator:8080", emulator.url)
                   for k, v in services["demo-worker"]["environment"].items()
                   if not k.startswith("JOBFLEET_")}
    script = services["demo"]["command"][-1].replace("/jobs/", f"{REPO}/jobs/")
    script = script.replace("/results/", f"{tmp_path}/")
    script = script.replace("jobfleet ", f"{shlex.quote(sys.executable)} -m producers.cli ")
    with private_fleet(emulator, tmp_path / "fleet", workers=2, **credentials) as (api, pool):
        run = subprocess.run(["sh", "-c", script], env=pool.env, capture_output=True,
                             text=True, timeout=600)
        states = api.status("demo")["states"]
    assert run.returncode == 0, run.stderr[-2000:]
    assert states["succeeded"] >= 15 and states["queued"] == states["running"] == 0
    assert (tmp_path / "demo-export" / "results.jsonl").exists()
    assert {p.name for p in (tmp_path / "demo-export").rglob("msa.fasta")}


def test_the_demo_job_file_covers_three_platforms():
    from producers.jobfile import parse_lines

    jobs, errors = parse_lines((REPO / "jobs" / "demo.jsonl").read_bytes().splitlines())
    assert errors == [] and {j["provider"] for j in jobs} == {"deeporigin", "moderately",
                                                              "openprotein"}
