"""The chaos harness's recovery figures: jobs not yet started are reported apart."""

from __future__ import annotations

from bench.chaos_recovery import Snapshot, Watch


def snap(step: str | None, state: str = "queued") -> Snapshot:
    return Snapshot(state, None, step, 990.0, None, ("0", "0", None))


def watch() -> Watch:
    before = {"retry": snap("submit", "submitting"), "poll": snap("poll", "running"),
              "new1": snap("unstarted"), "new2": snap("unstarted")}
    w = Watch("redis-restart", 0.0, 10.0, before, epoch=1000.0)
    w.recovered = {"retry": 4.0, "poll": 1.0, "new1": 30.0, "new2": 12.0}
    w.progressed = {"retry": 6.0, "poll": 2.0, "new1": 45.0, "new2": 20.0}
    return w


def test_started_and_unstarted_jobs_have_figures_of_their_own():
    summary = watch().summary()
    assert (summary["mid_step"], summary["max_s"], summary["max_stall_s"]) == (2, 4.0, 6.0)
    assert (summary["unstarted"], summary["unstarted_max_s"],
            summary["unstarted_max_stall_s"]) == (2, 30.0, 45.0)
    assert summary["slowest"]["job"] == "retry"  # the slowest of the started work


def test_the_two_sets_split_every_caught_job():
    w = watch()
    started, new = w.times(), w.times(unstarted=True)
    assert sorted(started[0] + new[0]) == sorted(w.recovered.values())
    assert sorted(started[1] + new[1]) == sorted(w.progressed.values())
