"""A Deep Origin list page read the cheap way: rows of jobs not watched are skipped, a
running job is only noted, ended and malformed rows are read in full, as before."""

import pytest

from worker.providers import paging
from worker.providers.deeporigin.records import remote_status, running_row
from worker.providers.types import RemoteState
from worker.sweep_watch import match


def row(execution_id, status, **extra):
    return {"executionId": execution_id, "status": status, "tool": {"key": "t", "version": "1"},
            "statusReason": None, **extra}


def fast(rows, wanted):
    return paging.listed(rows, "executionId", remote_status, wanted=wanted, running=running_row)


def full(rows):
    return paging.listed(rows, "executionId", remote_status)


def test_rows_of_jobs_not_watched_are_left_out_whatever_they_say():
    rows = [row("a", "Completed"), row("b", "Running"), {"executionId": "c", "status": 7},
            row("d", "Failed", statusReason="boom")]
    assert [rid for rid, _ in fast(rows, {"d"})] == ["d"]


@pytest.mark.parametrize("raw", ["Created", "Queued", "Running", "Quoted"])
def test_a_watched_job_not_ended_is_noted_without_its_record(raw):
    [(rid, status)] = fast([row("a", raw, jobOutputs=None)], {"a"})
    assert (rid, status.raw, status.state.terminal, dict(status.record)) == ("a", raw, False, {})
    assert match([(rid, status)], {"a": "job-a"}).running == ["job-a"]


def test_an_ended_row_is_read_in_full_with_its_record_and_reason():
    failed = row("a", "Failed", statusReason={"message": "out of memory", "code": "OOM"})
    done = row("b", "Completed", jobOutputs={"result": 1})
    seen = match(fast([failed, done], {"a", "b"}), {"a": "ja", "b": "jb"})
    assert seen.running == []
    assert seen.ended["ja"].state is RemoteState.FAILED
    assert seen.ended["ja"].detail == "out of memory (OOM)"
    assert seen.ended["jb"].record["jobOutputs"] == {"result": 1}


MALFORMED = [
    {"executionId": "m1", "status": "Running"},  # no tool
    {"executionId": "m2", "status": "Running", "tool": "t"},  # tool not an object
    row("m3", "Sprinting"),  # unknown status
    row("m4", ["Running"]),  # status not a string (and not hashable)
    row("m5", None),
    ["m6", "Running"],  # not an object at all
    {"status": "Running", "tool": {}},  # no id
    row(7, "Running"),  # id not a string
]


def test_a_malformed_row_is_never_taken_as_running_and_is_left_to_its_own_poll(caplog):
    ids = {"m1", "m2", "m3", "m4", "m5", "m6", 7}
    caplog.set_level("INFO", logger="jobfleet.paging")
    assert fast(MALFORMED, ids) == []
    assert sum("left to its own poll" in r.message for r in caplog.records) == 5


def test_the_fast_path_sees_what_the_full_read_sees_for_watched_rows():
    rows = [row("a", "Running"), row("b", "Completed"), row("c", "Cancelled"),
            row("d", "Queued"), *MALFORMED, row("e", "InsufficientFunds", statusReason="no")]
    wanted = {"a", "b", "c", "m1", "m3", "e"}
    expected = [(rid, s.raw, s.state) for rid, s in full(rows) if rid in wanted]
    assert [(rid, s.raw, s.state) for rid, s in fast(rows, wanted)] == expected
    ended = {rid: s for rid, s in fast(rows, wanted) if s.state.terminal}
    assert ended == {rid: s for rid, s in full(rows) if rid in ended}
