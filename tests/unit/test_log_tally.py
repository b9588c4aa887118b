"""LogTally: the first event of a kind logged at once, the rest summed per interval."""

import logging

import pytest

from worker.log_tally import LogTally

KIND = "deeporigin: creates that slept for the fleet's create pace"


class Timers:
    """The tally's ``later`` seam: keeps what it was asked to run, runs it on demand."""

    def __init__(self):
        self.due: list[tuple[float, object]] = []

    def __call__(self, delay, action):
        self.due.append((delay, action))

    def run(self):
        due, self.due = self.due, []
        for _, action in due:
            action()


@pytest.fixture
def now():
    return [100.0]


@pytest.fixture
def timers():
    return Timers()


@pytest.fixture
def tally(now, timers):
    return LogTally(logging.getLogger("test.tally"), every_s=10.0, clock=lambda: now[0],
                    later=timers)


def lines(caplog):
    return [r.getMessage() for r in caplog.records if r.name == "test.tally"]


def test_a_lone_event_is_one_line_at_once(tally, timers, caplog):
    caplog.set_level(logging.INFO)
    tally.event(KIND, "job a, 0.40s", 0.4)
    assert lines(caplog) == [f"{KIND}: job a, 0.40s"]
    assert timers.due == []  # nothing counted: no summary to write


def test_a_burst_is_one_line_then_one_summary_per_interval(tally, timers, now, caplog):
    caplog.set_level(logging.INFO)
    for i in range(5000):  # thousands within a second
        now[0] += 0.0002
        tally.event(KIND, f"job {i}, 0.50s", 0.5)
    assert lines(caplog) == [f"{KIND}: job 0, 0.50s"]
    assert len(timers.due) == 1 and timers.due[0][0] == pytest.approx(10.0, abs=0.01)
    now[0] = 110.0
    timers.run()
    assert lines(caplog)[1:] == [
        f"{KIND}: 4999 more in the last 10s, 2499.5s in all; the latest: job 4999, 0.50s"]
    tally.event(KIND, "job x, 0.10s", 0.1)  # within the next interval: counted, not logged
    assert len(lines(caplog)) == 2 and len(timers.due) == 1
    now[0] = 120.0
    timers.run()
    assert lines(caplog)[2] == (
        f"{KIND}: 1 more in the last 10s, 0.1s in all; the latest: job x, 0.10s")
    now[0] = 200.0  # a quiet spell, then one more: at once again
    tally.event(KIND, "job y, 0.20s", 0.2)
    assert lines(caplog)[3] == f"{KIND}: job y, 0.20s"


def test_kinds_are_counted_apart_and_a_kind_without_seconds_says_none(tally, timers, now, caplog):
    caplog.set_level(logging.INFO)
    other = "openprotein: searches for lost creates handed back to ask again"
    for name in ("a", "b", "c"):
        tally.event(KIND, f"job {name}, 1.00s", 1.0)
        tally.event(other, f"job {name}, in 2.0s: a shared search is under way")
    now[0] += 10
    timers.run()
    assert lines(caplog)[2:] == [
        f"{KIND}: 2 more in the last 10s, 2.0s in all; the latest: job c, 1.00s",
        f"{other}: 2 more in the last 10s; the latest: job c, in 2.0s: a shared search is "
        "under way"]


def test_counts_still_open_are_written_by_flush_all(tally, now, caplog):
    caplog.set_level(logging.INFO)
    tally.event(KIND, "job a, 1.00s", 1.0)
    tally.event(KIND, "job b, 1.00s", 1.0)
    now[0] += 3
    tally.flush_all()  # the process exits before the timer fires
    assert lines(caplog) == [
        f"{KIND}: job a, 1.00s",
        f"{KIND}: 1 more in the last 3s, 1.0s in all; the latest: job b, 1.00s"]
    tally.flush_all()
    assert len(lines(caplog)) == 2  # nothing counted twice
