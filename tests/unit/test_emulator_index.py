"""The emulator's job index: list pages answered from it agree with a full scan, and a
page over 100,000 jobs never touches the job table."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator, Mapping

import pytest

from emulator.clock import CANCELLED, FAILED, SUCCEEDED, JobRecord, Plan
from emulator.deeporigin.dto import Execution, iso
from emulator.deeporigin.listing import parse_query
from emulator.index import JobIndex


def record(remote_id: str, created: float, duration: float, outcome: str = SUCCEEDED,
           project: str = "p", unlisted: bool = False, quoted: bool = False) -> JobRecord:
    plan = Plan(queue_s=0.0, duration_s=duration, outcome=outcome, reason=None, price=1.0,
                unlisted=unlisted)
    execution = Execution("acme", "tool.a", "1.0.0", {"inputs": {}, "projectId": project})
    return JobRecord("deeporigin", remote_id, created, plan, None if quoted else created,
                     data=execution)


def indexed(*jobs: JobRecord) -> JobIndex:
    index = JobIndex()
    for job in jobs:
        index.add(job, ("acme", job.data.body["projectId"]))
    return index


def ids(jobs) -> list[str]:
    return [job.remote_id for job in jobs]


def test_created_windows_are_strict_ordered_and_per_scope():
    jobs = [record("b", 10.0, 5), record("a", 10.0, 5), record("c", 20.0, 5),
            record("x", 15.0, 5, project="other"), record("h", 12.0, 5, unlisted=True)]
    index = indexed(*jobs)
    assert ids(index.created(("acme", "p"))) == ["a", "b", "c"]  # ties by id; no stranger
    assert ids(index.created(("acme", "p"), 10.0)) == ["c"]  # strictly after
    assert ids(index.created(("acme", "other"), 0.0)) == ["x"]
    assert index.created(("nobody", "p")) == []


def test_jobs_reach_their_outcome_list_when_their_time_comes_and_cancels_at_once():
    ok, bad, gone = record("ok", 0.0, 5), record("bad", 1.0, 2, FAILED), record("gone", 2.0, 9)
    quote = record("quote", 3.0, 1, quoted=True)
    index = indexed(ok, bad, gone, quote)
    assert index.in_phase(("acme", "p"), SUCCEEDED, 4.0) == []
    assert ids(index.in_phase(("acme", "p"), FAILED, 4.0)) == ["bad"]
    gone.cancel(4.5)
    index.cancelled(gone)
    quote.confirm(4.5)
    index.started(quote)
    assert ids(index.in_phase(("acme", "p"), CANCELLED, 4.6)) == ["gone"]
    assert ids(index.in_phase(("acme", "p"), SUCCEEDED, 6.0)) == ["ok", "quote"]
    assert ids(index.in_phase(("acme", "p"), SUCCEEDED, 20.0)) == ["ok", "quote"]  # not gone


class NoScan(Mapping):
    """A job table that fails the test if a list request iterates it."""

    def __getitem__(self, key):
        raise AssertionError("the job table was read")

    def __iter__(self) -> Iterator[str]:
        raise AssertionError("the job table was scanned")

    def __len__(self) -> int:
        return 100_000


def page(jobs, index, **params) -> tuple[list[str], int]:
    query = {k: json.dumps(v) if k == "filter" else str(v) for k, v in params.items()}
    rows, count = parse_query(query).run(jobs, "acme", 1e9, index)
    return ids(rows), count


@pytest.mark.parametrize("order", ["createdAt asc", "createdAt desc"])
def test_a_sweep_page_over_100000_jobs_is_answered_from_the_index_like_a_scan(order):
    rng = random.Random(3)
    jobs = [record(f"e{i:06d}", 1_000.0 + rng.randrange(50_000) / 1000, 5) for i in range(100_000)]
    index = indexed(*jobs)
    table = {job.remote_id: job for job in jobs}
    since = 1_000.0 + 20.0
    params = {"filter": {"projectId": "p", "createdAt": {"$gt": iso(since)}},
              "pageSize": 1000, "order": order}
    for number in (0, 29, 30):
        fast = page(NoScan(), index, page=number, **params)
        assert fast == page(table, None, page=number, **params)
    assert fast[1] == sum(1 for job in jobs if job.created_at > since)
