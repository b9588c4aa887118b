"""The official `openprotein-python==0.17.0` client, in its own virtualenv, against the emulator.

The client script asserts on everything the SDK hands back; this side checks its exit code
and that the emulator's stats tell the same story. The emulator issues 31-second access
tokens here: the SDK renews 30 s before expiry, so its refresh path runs within the test.
The first run builds `.venvs/openprotein` (numpy, pandas, gemmi: a minute or two with a cold
pip cache); later runs reuse it.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulator.control import EmulatorControl, start_emulator
from tests.conformance.envs import CONFORMANCE_DIR, ensure_env
from tests.fixtures.emulator import FIXTURE_ARGS

pytestmark = pytest.mark.conformance

CLIENT_SCRIPT = CONFORMANCE_DIR / "clients" / "openprotein_client.py"
CLIENT_TIMEOUT_S = 180  # the SDK sleeps 1 s before each wait; CI machines are shared
USER, PASSWORD = "conformance", "conformance-pass"


@pytest.fixture(scope="module")
def openprotein_python() -> Path:
    """The interpreter of the official client's private env (built on first use)."""
    return ensure_env("openprotein")


@pytest.fixture(scope="module")
def private_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorControl]:
    """This module's emulator: a conformance account and tokens the SDK soon refreshes."""
    log_path = tmp_path_factory.mktemp("emulator-openprotein-sdk") / "emulator.log"
    args = (*FIXTURE_ARGS, "--op-user", f"{USER}:{PASSWORD}", "--op-token-ttl", "31")
    with start_emulator(args, log_path=log_path) as process:
        yield process.control


def test_the_official_client_runs_msa_and_embedding_jobs_against_the_emulator(
    openprotein_python, fresh_emulator, tmp_path
):
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "EMULATOR_URL": fresh_emulator.url,
        "OP_USERNAME": USER,
        "OP_PASSWORD": PASSWORD,
        "NO_PROXY": "127.0.0.1,localhost",
    }
    proc = subprocess.run(
        [str(openprotein_python), str(CLIENT_SCRIPT)],
        env=env, capture_output=True, text=True, timeout=CLIENT_TIMEOUT_S, check=False,
    )
    assert proc.returncode == 0, f"stdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-6000:]}"
    summary = json.loads(proc.stdout.strip().splitlines()[-1])

    stats = fresh_emulator.stats()["openprotein"]
    endpoints = stats["requests_by_endpoint"]
    assert stats["jobs_created"] == 5  # seed MSA, uploaded MSA, two embeds, one failed MSA
    assert stats["logins_by_user"] == {USER: 1}  # then only refreshes
    assert stats["login_failures_by_user"] == {"nobody": 1}
    assert stats["refreshes_by_user"].get(USER, 0) >= 1 and stats["refresh_failures"] == 0
    assert stats["token_rejections"] == 0  # proactive refreshes: never a stale token sent
    assert endpoints["GET /v1/align/inputs"] >= 3
    assert endpoints["GET /v1/embeddings/models"] == 1
    assert endpoints["GET /v1/embeddings/embed/{job_id}/{sequence}"] == 3
    assert fresh_emulator.job("openprotein", summary["failed"])["status"] == "FAILURE"
    assert (tmp_path / ".openprotein" / "token.json").exists()
