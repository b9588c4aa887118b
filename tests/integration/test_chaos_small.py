"""A small chaos run in the suite: ``python -m bench.chaos`` as a user runs it, end to end.

Its own Redis, emulator and workers (nothing shared with the other integration tests), one
SIGKILLed worker, one Redis restart and a few per cent of faults; the last line of stdout
must be the JSON verdict and every invariant must hold. Sized to finish in about a minute
on a 2-core machine: short jobs and a 10 s lease, so a killed worker's steps come back fast.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from devtools.localfleet import REPO

pytestmark = pytest.mark.integration

FIXED_KEYS = ["jobs", "terminal", "lost", "wrong_state", "duplicate_creations",
              "duplicate_uploads", "max_recovery_s", "wall_s"]
JOBS = 60
LEASE_S = 10
RUN_TIMEOUT_S = 170  # the harness's own --timeout is far shorter; this only stops a hang


@pytest.fixture(scope="module")
def chaos_logs(tmp_path_factory):
    """The run's kept logs and its full result (``chaos-result.json``)."""
    return tmp_path_factory.mktemp("chaos")


@pytest.fixture(scope="module")
def chaos_run(chaos_logs):
    logs = chaos_logs
    command = [
        sys.executable, "-m", "bench.chaos", "--jobs", str(JOBS), "--workers", "3",
        "--kill-every", "4", "--max-kills", "1", "--redis-restarts", "1",
        "--fault-5xx", "0.04", "--fault-429", "0.02", "--fault-drop", "0.01",
        "--duration", "uniform:1,4", "--failure-rate", "0.15", "--upload-share", "0.2",
        "--lease-s", str(LEASE_S), "--timeout", "100", "--seed", "3", "--keep-logs", str(logs),
    ]
    proc = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        stdout, stderr = proc.communicate(timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.terminate()  # the harness stops its Redis, emulator and workers on SIGTERM
        stdout, stderr = proc.communicate(timeout=60)
    done = subprocess.CompletedProcess(command, proc.returncode, stdout, stderr)
    lines = done.stdout.strip().splitlines()
    assert lines, f"no output; stderr:\n{done.stderr[-3000:]}"
    return done, json.loads(lines[-1])


def test_the_last_line_is_the_json_verdict_with_the_fixed_keys_last(chaos_run):
    _, verdict = chaos_run
    assert list(verdict)[-len(FIXED_KEYS):] == FIXED_KEYS


def test_every_job_ends_and_none_is_lost_or_in_the_wrong_state(chaos_run):
    done, verdict = chaos_run
    context = done.stdout[-6000:]
    assert verdict["jobs"] == JOBS, context
    assert verdict["terminal"] == JOBS, context
    assert verdict["lost"] == 0, context
    assert verdict["wrong_state"] == 0, context


def test_no_remote_job_or_upload_is_made_twice(chaos_run):
    done, verdict = chaos_run
    assert verdict["duplicate_creations"] == 0, done.stdout[-6000:]
    assert verdict["duplicate_uploads"] == 0, done.stdout[-6000:]
    assert verdict["upload_missing"] == 0, done.stdout[-6000:]


def test_the_kill_and_the_restart_happened_and_every_caught_job_moved_again(
        chaos_run, chaos_logs):
    """Each disruption caught jobs mid-step, and every one of them moved on again (a dead
    worker's steps come back when their lease runs out) before the run ended."""
    done, verdict = chaos_run
    assert verdict["kills"] == 1 and verdict["redis_restarts"] == 1, done.stdout[-6000:]
    result = json.loads((chaos_logs / "chaos-result.json").read_text())
    disruptions = result["recovery"]
    assert [d["kind"] for d in disruptions].count("kill") == 1, disruptions
    assert sum(d["mid_step"] for d in disruptions) > 0, disruptions
    assert all(d["unrecovered"] == 0 for d in disruptions), disruptions


def test_the_spec_file_platform_takes_part_beside_the_built_in_ones(chaos_run):
    done, verdict = chaos_run
    assert "jobsapi" in verdict["platforms"], done.stdout[-6000:]  # examples/providers


def test_the_exit_code_says_the_invariants_held(chaos_run):
    done, _ = chaos_run
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
