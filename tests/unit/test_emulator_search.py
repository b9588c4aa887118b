"""Deep Origin's data-platform execution search, checked without a server: the filters and
pages the official client sends, answered from the index like a brute-force scan would."""

from __future__ import annotations

import random

import pytest

from emulator.clock import FAILED, SUCCEEDED, JobRecord, Plan
from emulator.deeporigin.dto import STATUS_BY_PHASE, Execution
from emulator.deeporigin.search import SearchError, parse_search, run_search
from emulator.index import JobIndex

NOW = 10_000.0


def record(i: int, rng: random.Random, project: str = "p") -> JobRecord:
    plan = Plan(queue_s=0.0, duration_s=rng.uniform(1, 200), price=1.0, reason=None,
                outcome=FAILED if rng.random() < 0.2 else SUCCEEDED)
    created = 9_800.0 + rng.randrange(100_000) / 1000
    body = {"inputs": {"n": i}, "projectId": project, "app": "jobfleet", "session": f"s{i}"}
    return JobRecord("deeporigin", f"e{i:05d}", created, plan, created,
                     data=Execution("acme", "tool.a", "1.0.0", body))


@pytest.fixture(scope="module")
def world():
    rng = random.Random(5)
    jobs = [record(i, rng, "p" if i % 5 else "q") for i in range(5000)]
    for job in rng.sample(jobs, 50):
        job.cancel(NOW - 1)
    index = JobIndex()
    for job in jobs:
        index.add(job, ("acme", job.data.body["projectId"]))
        if job.cancelled_at is not None:
            index.cancelled(job)
    return {job.remote_id: job for job in jobs}, index


def scan(jobs, project, statuses, offset, limit):
    found = sorted((j for j in jobs.values() if j.data.body["projectId"] == project
                    and STATUS_BY_PHASE[j.phase(NOW)] in statuses),
                   key=lambda j: (j.created_at, j.remote_id))
    return [j.remote_id for j in found[offset : offset + limit]], len(found)


@pytest.mark.parametrize(
    ("statuses", "offset", "limit"),
    [(["Completed"], 0, 100), (["Failed", "Cancelled"], 0, 1000),
     (["Completed", "Failed", "Cancelled"], 1500, 500), (["Running"], 0, 50),
     (["Completed"], 99_999, 10)],
)
def test_status_searches_page_like_a_scan(world, statuses, offset, limit):
    jobs, index = world
    body = {"filter": {"props": [{"column": "project_id", "op": "eq", "value": "p"},
                                 {"column": "status", "op": "in", "value": statuses}]},
            "limit": limit, "offset": offset, "with_total_count": True}
    answer = run_search(parse_search(body), jobs, index, "acme", NOW, set())
    expected, total = scan(jobs, "p", statuses, offset, limit)
    assert [row["compute_job_id"] for row in answer["data"]] == expected
    assert answer["meta"] == {"count": total}


def test_rows_are_the_data_platform_s_snake_case_and_select_narrows_them(world):
    jobs, index = world
    body = {"filter": {"compute_job_id": {"eq": "e00001"}}, "select": ["id", "status"]}
    [row] = run_search(parse_search(body), jobs, index, "acme", NOW, set())["data"]
    assert set(row) == {"id", "status"} and row["id"] == "dp-e00001"
    [full] = run_search(parse_search({"filter": {"props": [
        {"column": "compute_job_id", "op": "eq", "value": "e00001"}]}}),
        jobs, index, "acme", NOW, set())["data"]
    assert full["tags"] == {"app": "jobfleet", "session": "s1"}
    assert full["compute_metadata"] == {"userInputs": {"n": 1}}
    assert run_search(parse_search({"filter": {}}), jobs, index, "other", NOW, set()) == {
        "data": [], "meta": {}}


@pytest.mark.parametrize(
    ("body", "field"),
    [([], "body"), ({"filter": []}, "filter"),
     ({"filter": {"props": [{"column": "colour", "op": "eq", "value": 1}]}}, "filter"),
     ({"filter": {"props": [{"column": "status", "op": "like", "value": "C%"}]}}, "filter"),
     ({"filter": {"props": [{"column": "status", "op": "in", "value": "Completed"}]}}, "filter"),
     ({"limit": 0}, "limit"), ({"limit": 10_001}, "limit"), ({"offset": -1}, "offset"),
     ({"select": "id"}, "select")],
)
def test_malformed_searches_name_the_field(body, field):
    with pytest.raises(SearchError) as caught:
        parse_search(body)
    assert caught.value.field == field
