"""A batch in numbers, from job records: what the report and `jobfleet wait` summarise."""

from monitor.batch_stats import row, summarise
from monitor.summary import failure_lines
from worker.record import Job


def job(key, state, times, **fields):
    return Job.new("b", key, fields.pop("provider", "deeporigin"), "tool", {}, state=state,
                   times=times, **fields)


def test_rows_carry_delays_and_requests():
    r = row(job("a", "succeeded", {"queued": 100.0, "submitting": 102.0, "running": 103.0,
                                   "succeeded": 120.0},
                remote_ended_at=115.0, seen_ended_at=118.5, polls=4, submit_attempts=1))
    assert (r.queue_s, r.run_s, r.detection_s, r.requests) == (2.0, 12.0, 3.5, 6)
    waiting = row(job("b", "queued", {"queued": 100.0}))
    assert (waiting.queue_s, waiting.run_s, waiting.detection_s, waiting.ended) == \
        (None, None, None, None)


def test_summary_groups_outcomes_and_failures_by_reason():
    rows = [
        row(job("a", "succeeded", {"queued": 0.0, "running": 1.0, "succeeded": 5.0})),
        row(job("b", "failed", {"queued": 0.0, "failed": 9.0}, reason="deadline",
                error="deadline of 4s passed")),
        row(job("c", "failed", {"queued": 1.0, "failed": 3.0}, reason="deadline",
                error="another")),
        row(job("d", "failed", {"queued": 1.0, "failed": 2.0}, reason="auth", error="401",
                provider="moderately")),
    ]
    s = summarise("b", rows)
    assert (s.total, s.states["failed"], s.states["succeeded"], s.wall_s) == (4, 3, 1, 9.0)
    assert s.failures == [("deadline", 2, "deadline of 4s passed"), ("auth", 1, "401")]
    (p1, k1, states1, median1), (p2, _, states2, _) = s.groups
    assert (p1, k1, states1["succeeded"], states1["failed"], median1) == \
        ("deeporigin", "tool", 1, 2, 4.0)
    assert (p2, states2["failed"]) == ("moderately", 1)
    assert failure_lines([("x", 2, "y" * 300)])[0].endswith("…")
    assert failure_lines(s.failures)[0] == "  deadline ×2: deadline of 4s passed"
