"""`jobfleet demo` runs a whole local fleet on its own and ends with every job terminal."""

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration


def test_the_demo_runs_a_mixed_batch_to_the_end_and_exits_zero(tmp_path):
    run = subprocess.run([sys.executable, "-m", "producers.cli", "demo", "--jobs", "15",
                          "--workers", "1"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=240, env={**os.environ, "COLUMNS": "120"})
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "15 of 15 jobs ended" in run.stdout
    for platform in ("deeporigin", "moderately", "openprotein"):
        assert platform in run.stdout
    assert "over_budget" in run.stdout
