"""The official `moderatelyai-sdk==0.2.7` client, in its own virtualenv, against the emulator.

The client script asserts on everything the SDK hands back; this side checks the script's exit
code and that the emulator's stats tell the same story (creations, files, cancels, faults).
The first run builds `.venvs/moderately` (about 10 s with a warm pip cache); later runs reuse it.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conformance.envs import CONFORMANCE_DIR, ensure_env

pytestmark = pytest.mark.conformance

CLIENT_SCRIPT = CONFORMANCE_DIR / "clients" / "moderately_client.py"
CLIENT_TIMEOUT_S = 120  # a dozen sub-second jobs; generous for a shared CI machine
TEAM = "T3amQ9vK2LpX8sR4mN7bY"


@pytest.fixture(scope="module")
def moderately_python() -> Path:
    """The interpreter of the official client's private env (built on first use)."""
    return ensure_env("moderately")


def test_the_official_client_runs_agents_pipelines_and_files_against_the_emulator(
    moderately_python, fresh_emulator, tmp_path
):
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "EMULATOR_URL": fresh_emulator.url,
        "MODERATELY_API_KEY": "conformance-key",
        "MODERATELY_TEAM_ID": TEAM,
        "NO_PROXY": "127.0.0.1,localhost",
    }
    proc = subprocess.run(
        [str(moderately_python), str(CLIENT_SCRIPT)],
        env=env, capture_output=True, text=True, timeout=CLIENT_TIMEOUT_S, check=False,
    )
    assert proc.returncode == 0, f"stdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-6000:]}"
    summary = json.loads(proc.stdout.strip().splitlines()[-1])

    stats = fresh_emulator.stats()["moderately"]
    endpoints = stats["requests_by_endpoint"]
    assert summary["team"] == TEAM
    assert stats["executions_created"] == 7  # 3 agents (1 async) + 4 pipelines; 1 refused
    assert stats["creations_by_tag"] == {}  # executions carry no tag field
    assert endpoints["POST /agent-executions/{id}/cancel"] == 2  # one refused with 409
    assert endpoints["PATCH /agent-executions/{id}/cancel"] == 1
    assert endpoints["GET /_storage/{key}"] == 6  # 2 S3 outputs x 2 reads + 2 file downloads
    assert endpoints["PUT /_storage/{key}"] == 2
    assert stats["files"][f"files/{summary['file']}"]["sha256"] == summary["sha256"]
    assert stats["faults"]["429"] == 1  # max_retries=0: one request, one RateLimitError
    for key, status in (("agent", "completed"), ("agent_cancelled", "cancelled"),
                        ("pipeline", "completed"), ("pipeline_cancelled", "cancelled"),
                        ("async_cancelled", "cancelled")):
        assert fresh_emulator.job("moderately", summary[key])["status"] == status, key
    assert fresh_emulator.job("moderately", summary["pipeline_cancelled"])["cancel_reason"] == (
        "stop"
    )
