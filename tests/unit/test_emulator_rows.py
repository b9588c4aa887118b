"""Deep Origin list rows kept encoded: always the bytes a fresh rendering gives, whatever the
job went through between two pages."""

from __future__ import annotations

import json

import pytest

from emulator.clock import JobRecord, Plan
from emulator.deeporigin.dto import Execution, render
from emulator.deeporigin.rows import list_page, list_row


def job(outcome: str = "succeeded", *, quoted: bool = False, reason: str | None = None,
        **body: object) -> JobRecord:
    plan = Plan(queue_s=2.0, duration_s=100.0, outcome=outcome, reason=reason, price=3.5)
    execution = Execution("acme", "tool.a", "1.0.0", {
        "inputs": {"ligand": "c1ccccc1", "note": "ünïcode ✓"}, "projectId": "p",
        "session": "s", "metadata": {"k": [1, 2.5, None]}, **body})
    return JobRecord("deeporigin", "exec-1", 1000.0, plan, None if quoted else 1000.0,
                     data=execution)


def fresh(record: JobRecord, now: float) -> bytes:
    return json.dumps(render(record, now), separators=(",", ":")).encode()


TIMES = [1000.0, 1001.0, 1002.0, 1002.5, 1003.0, 1003.1, 1004.0, 1051.0, 1051.2, 1052.0,
         1101.9, 1102.0, 1500.0]


@pytest.mark.parametrize("record", [
    job(), job("failed", reason="out of memory"), job(tag="t", batchSize=4, billing={"a": 1}),
    job(name=None, visibility="hidden", outputs={"o": "x"}),
])
def test_a_row_is_always_the_fresh_rendering_at_every_moment_of_its_life(record):
    for now in TIMES + TIMES[::-1]:  # forward, and read again at times already rendered
        assert list_row(record, now) == fresh(record, now)


def test_a_job_that_changes_status_shows_the_new_status_on_the_next_page():
    record = job()
    statuses = []
    for now in (1001.0, 1050.0, 1200.0):
        page = json.loads(list_page([record], now, 1))
        statuses.append((page["data"][0]["status"], page["data"][0]["jobOutputs"] is None))
    assert statuses == [("Queued", True), ("Running", True), ("Completed", False)]


def test_a_confirm_or_a_cancel_shows_on_the_next_page_at_the_same_moment():
    record = job(quoted=True)
    assert json.loads(list_row(record, 1010.0))["status"] == "Quoted"
    record.confirm(1010.0)
    assert list_row(record, 1010.0) == fresh(record, 1010.0)
    assert json.loads(list_row(record, 1010.0))["status"] == "Queued"
    assert json.loads(list_row(record, 1020.0))["status"] == "Running"
    record.cancel(1020.0)
    assert json.loads(list_row(record, 1020.0))["status"] == "Cancelled"
    assert list_row(record, 1020.0) == fresh(record, 1020.0)


def test_progress_moves_in_the_row_while_the_status_stays_running():
    record = job()
    first, later = (json.loads(list_row(record, now)) for now in (1010.0, 1060.0))
    assert (first["status"], later["status"]) == ("Running", "Running")
    assert (first["progressReport"], later["progressReport"]) == ({"complete": 8},
                                                                  {"complete": 58})


def test_a_page_is_what_encoding_the_whole_answer_gives():
    records = [job(), job("failed", reason="no"), job(quoted=True)]
    for now in (1001.0, 1150.0):
        expected = {"data": [render(r, now) for r in records], "count": 7}
        assert list_page(records, now, 7) == json.dumps(
            expected, separators=(",", ":")).encode()
    assert list_page([], 1001.0, 0) == b'{"data":[],"count":0}'
