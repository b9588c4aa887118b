"""The benchmarks (``python -m bench.compare``, ``bench.scale``, ``bench.finalize``...) as a
user runs them, small.

Checks what the benchmarks promise, never how fast anything was: the last line of stdout is
one JSON object, every job of both systems ended as the emulator decided, and the request
counts come from the emulator (a run that sent no status request could not have finished).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from devtools.localfleet import REPO

pytestmark = pytest.mark.integration

RUN_TIMEOUT_S = 300  # the benchmarks cut themselves off far sooner; this only stops a hang


def _run(*args: str) -> dict:
    proc = subprocess.Popen([sys.executable, "-m", *args], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        stdout, stderr = proc.communicate(timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.terminate()  # the benchmark stops its Redis, emulator and workers on SIGTERM
        stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{stdout[-3000:]}\n{stderr[-3000:]}"
    assert "|---" in stdout, "no table printed"
    return json.loads(stdout.strip().splitlines()[-1])


def test_compare_runs_both_systems_on_the_same_jobs_and_every_job_ends_as_decided():
    summary = _run("bench.compare", "--jobs", "30", "--durations", "uniform:1,3",
                   "--workers", "1", "--failure-rate", "0.2", "--seed", "4")
    for name in ("naive", "jobfleet"):
        figures = summary[name]
        assert (figures["terminal"], figures["wrong_state"], figures["not_terminal"]) == (
            30, 0, 0), (name, figures)
        assert figures["status_requests_per_job"] > 0, (name, figures)
        assert figures["detection_p95_s"] is not None
    assert summary["naive"]["status_requests_per_job"] >= 1  # one poll per job at least
    assert set(summary["ratio_jobfleet_over_naive"]) >= {
        "status_requests_per_job", "detection_p95_s", "makespan_over_ideal", "busiest_second"}


def test_scale_holds_every_job_in_flight_at_once_then_sees_them_all_end():
    # 60 creates take about a second here: run times of 6 s leave them all in flight at once
    summary = _run("bench.scale", "--jobs", "60", "--duration", "uniform:6,7",
                   "--workers", "1", "--sample-every", "1")
    assert (summary["terminal"], summary["wrong_state"], summary["not_terminal"]) == (60, 0, 0)
    assert summary["peak_running"] == 60, summary
    assert summary["requests_per_s_waiting"] is not None, summary
    assert summary["rss_mb_over_time"], summary


def test_finalize_pauses_the_workers_until_every_job_ended_then_finalizes_them_all():
    # the run refuses (error) when creating the jobs takes 6 s of the 8; it takes about one
    summary = _run("bench.finalize", "--jobs", "60", "--run-time", "8", "--workers", "1")
    assert summary["error"] is None, summary
    assert summary["terminal"] == 60 and 0 < summary["succeeded"] <= 60, summary
    # every succeeded job's file was fetched in the drain: none was finalized before the pause
    assert summary["requests_per_finalized_job"] >= summary["succeeded"] / 60, summary
    assert summary["worker_cpu_ms_per_finalized_job"] > 0, summary


def test_walk_reads_every_execution_once_per_walk():
    summary = _run("bench.walk", "--jobs", "50", "--walks", "2")
    assert [(w["pages"], w["rows"]) for w in summary["walks"]] == [(1, 50), (1, 50)], summary


def test_enqueue_writes_every_job_of_the_file_once_and_due_for_submit():
    summary = _run("bench.enqueue", "--jobs", "300")
    assert summary["checks_ok"], summary
    assert summary["due_for_submit"] == 3 * 300
