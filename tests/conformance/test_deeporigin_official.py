"""The official `deeporigin==5.4.0` client, in its own virtualenv, against the emulator.

The client script asserts on everything the SDK hands back; this side checks the script's exit
code and that the emulator's stats tell the same story (requests, creations, files, retries).
The first run builds `.venvs/deeporigin` (about 15 s with a warm pip cache); later runs reuse it.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from emulator.tokens import make_jwt
from tests.conformance.envs import CONFORMANCE_DIR, ensure_env

pytestmark = pytest.mark.conformance

CLIENT_SCRIPT = CONFORMANCE_DIR / "clients" / "deeporigin_client.py"
# Generous: the script waits on a dozen short jobs, and CI machines are shared.
CLIENT_TIMEOUT_S = 180


@pytest.fixture(scope="module")
def deeporigin_python() -> Path:
    """The interpreter of the official client's private env (built on first use)."""
    return ensure_env("deeporigin")


def test_the_official_client_runs_executions_quotes_and_files_against_the_emulator(
    deeporigin_python, fresh_emulator, tmp_path
):
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "EMULATOR_URL": fresh_emulator.url,
        "DO_TOKEN": make_jwt({"iss": "emulator"}),
        "DO_ORG_KEY": "conformance-org",
        "DO_PROJECT_ID": "proj-conformance",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    proc = subprocess.run(
        [str(deeporigin_python), str(CLIENT_SCRIPT)],
        env=env, capture_output=True, text=True, timeout=CLIENT_TIMEOUT_S, check=False,
    )
    assert proc.returncode == 0, f"stdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-6000:]}"
    summary = json.loads(proc.stdout.strip().splitlines()[-1])

    stats = fresh_emulator.stats()["deeporigin"]
    endpoints = stats["requests_by_endpoint"]
    assert stats["executions_created"] == 7  # 5 listed + 1 cancelled + 1 quoted
    assert stats["creations_by_tag"] == {summary["session"]: 7}
    assert endpoints["GET /tools/{org}/clusters"] == 1  # cached per client instance
    assert endpoints["GET /tools/{org}/tools/executions"] >= 3  # two pages + created_after
    assert endpoints["PATCH /tools/{org}/tools/executions/{execution_id}:cancel"] == 1
    assert endpoints["PATCH /tools/{org}/tools/executions/{execution_id}:confirm"] == 1
    assert stats["faults"]["5xx"] == 4  # one GET, retried three times by the SDK
    for remote, sha256 in summary["files"].items():
        assert stats["files"][f"conformance-org/{remote}"]["sha256"] == sha256
    assert fresh_emulator.job("deeporigin", summary["cancelled"])["status"] == "Cancelled"
    assert fresh_emulator.job("deeporigin", summary["quoted"])["status"] == "Completed"
    assert list(tmp_path.glob(".deeporigin/*.txt")), "the SDK's error dumps went to the temp HOME"
