"""The benchmarks' arithmetic: percentiles, request classes, and the verdict on one run."""

from __future__ import annotations

import pytest

from bench.measure import percentile, ratio, request_figures
from bench.runs import Run, verdict
from bench.systems import Outcome


@pytest.mark.parametrize(("values", "p", "expected"), [
    ([], 50, None),
    ([3.0], 95, 3.0),
    ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50, 5),
    ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 95, 10),
    ([10, 1, 5], 50, 5),
])
def test_percentile_is_nearest_rank(values, p, expected):
    assert percentile(values, p) == expected


def test_ratio_is_none_without_a_baseline():
    assert ratio(2.0, 4.0) == 0.5
    assert ratio(2.0, 0) is None
    assert ratio(None, 4.0) is None


def test_status_requests_are_reads_of_jobs_not_creates_files_or_clusters():
    stats = {
        "requests_by_endpoint": {
            "POST /tools/{org}/tools/{tool_key}/{tool_version}/executions": 10,
            "GET /tools/{org}/tools/executions/{execution_id}": 30,
            "GET /tools/{org}/tools/executions": 4,
            "GET /tools/{org}/clusters": 2,
            "GET /files/{org}/signedUrl/{key}": 10,
            "GET /_storage/{key}": 10,
        },
        "requests_by_credential": {"cred-a": 66, "anonymous": 10},
        "max_requests_in_any_1s_window": {"cred-a": 20},
        "peak_running_by_credential": {"cred-a": 10},
    }
    got = request_figures(stats, "cred-a")
    assert (got["status_requests"], got["requests"], got["busiest_second"]) == (34, 66, 20)


def _remote(outcome: str, finished_at: float, created_at: float = 1000.5) -> dict:
    return {"outcome": outcome, "finished_at": finished_at, "created_at": created_at,
            "queue_s": 0.5, "duration_s": finished_at - created_at - 0.5}


def test_verdict_counts_wrong_and_unfinished_jobs_and_measures_detection_from_the_remote_end():
    run = Run("x", jobs=4, t0=1000.0)
    run.outcomes = [Outcome("a", "r1", "succeeded", 1012.0),
                    Outcome("b", "r2", "succeeded", 1021.0),  # the platform said failed
                    Outcome("c", "r3", None, None),
                    Outcome("d", "r4", "failed", 1031.0)]
    run.remote = {"r1": _remote("succeeded", 1010.0), "r2": _remote("failed", 1020.0),
                  "r3": _remote("succeeded", 1015.0), "r4": _remote("failed", 1030.0, 1002.0)}
    got = verdict(run)
    assert (got["terminal"], got["wrong_state"], got["not_terminal"]) == (3, 1, 1)
    assert (got["detection_p50_s"], got["detection_max_s"]) == (1.0, 2.0)
    assert got["makespan_s"] == 31.0
    assert got["all_remote_s"] == 2.0
    assert got["longest_job_s"] == 28.0  # the longest remote run, queue included
    assert got["ideal_s"] == 30.0  # the last remote job ended 30 s after the enqueue began
    assert got["busiest_second_creates"] == 3  # 1000.5 (three of them) and 1002.0
