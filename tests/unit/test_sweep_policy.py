import pytest

from worker.sweep_policy import SweepOutcome, SweepPolicy

POLICY = SweepPolicy(min_s=0.5, max_s=15.0, growth=2.0, rate_share=0.5, default_rps=20.0)


@pytest.mark.parametrize(
    ("previous", "requests", "ended", "failed", "failures", "rps", "until", "expected"),
    [
        # jobs are finishing: back to the shortest interval
        (8.0, 1, 5, False, 0, None, None, 0.5),
        # nothing changed: the interval grows by the factor ...
        (0.5, 1, 0, False, 0, None, None, 1.0),
        (4.0, 1, 0, False, 0, None, None, 8.0),
        # ... up to the cap
        (10.0, 1, 0, False, 0, None, None, 15.0),
        (15.0, 1, 0, False, 0, None, None, 15.0),
        # a tiny previous interval still grows from the floor
        (0.01, 1, 0, False, 0, None, None, 1.0),
        # an expected completion 3 s away cuts a 16 s wait to 3 s ...
        (8.0, 1, 0, False, 0, None, 3.0, 3.0),
        # ... but never below the floor, even once it is overdue
        (8.0, 1, 0, False, 0, None, -4.0, 0.5),
        # an expected completion further away than the grown interval changes nothing
        (2.0, 1, 0, False, 0, None, 60.0, 4.0),
        # the rate limit bounds it: 40 requests at 10 rps with a half share need 8 s
        (0.5, 40, 7, False, 0, 10.0, None, 8.0),
        # with no configured limit the default rate applies in full: 100 requests → 5 s
        (0.5, 100, 7, False, 0, None, None, 5.0),
        # the rate bound wins over an imminent expected completion
        (0.5, 100, 0, False, 0, None, 0.1, 5.0),
        # failures back off by doubling from the floor, capped
        (0.5, 1, 0, True, 1, None, None, 0.5),
        (0.5, 1, 0, True, 2, None, None, 1.0),
        (0.5, 1, 0, True, 4, None, None, 4.0),
        (0.5, 1, 0, True, 40, None, None, 15.0),
        # a failure ignores the expected completion (asking sooner would fail again)
        (0.5, 1, 0, True, 4, None, 0.2, 4.0),
    ],
)
def test_interval_adapts(previous, requests, ended, failed, failures, rps, until, expected):
    outcome = SweepOutcome(requests=requests, ended=ended, failed=failed, watched=50)
    got = POLICY.next_interval(previous, outcome, failures=failures, rps=rps,
                               until_expected=until)
    assert got == pytest.approx(expected)


@pytest.mark.parametrize(
    "fields",
    [
        {"min_s": 0},
        {"min_s": 5, "max_s": 1},
        {"growth": 0.9},
        {"rate_share": 0},
        {"rate_share": 1.5},
        {"default_rps": 0},
        {"fallback_s": 0},
        {"full_every_s": 0},
        {"early_s": -1},
    ],
)
def test_inconsistent_policies_are_refused(fields):
    with pytest.raises(ValueError, match="inconsistent sweep policy"):
        SweepPolicy(**fields)


@pytest.mark.parametrize(
    ("watched", "arrived", "expected"),
    [
        (0, 0, 0.5),  # nothing to watch: stay ready, an empty sweep sends nothing
        (50, 10, 0.5),  # new jobs arrived: start short again
        (50, 0, 16.0),  # the same jobs, nothing ended: keep growing (capped below)
    ],
)
def test_new_jobs_or_none_keep_the_interval_short(watched, arrived, expected):
    policy = SweepPolicy(min_s=0.5, max_s=20.0, growth=2.0)
    outcome = SweepOutcome(requests=1 if watched else 0, ended=0, watched=watched,
                           arrived=arrived)
    assert policy.next_interval(8.0, outcome) == expected


@pytest.mark.parametrize(
    ("requests", "rps", "expected"),
    [
        (100, None, 2.5),  # no configured limit: 40 of the 50 requests/s, 100 pages → 2.5 s
        (20, None, 0.5),  # a walk stopped after 20 pages waits a fifth of that
        (0, None, 0.0),  # a sweep that sent nothing owes no pause
        (100, 50.0, 4.0),  # a configured limit: half of it, so 25/s
        (100, 400.0, 0.5),  # a generous limit: still half of it
    ],
)
def test_the_pause_after_a_walk_keeps_sweeps_within_the_budget(requests, rps, expected):
    assert SweepPolicy().rate_floor(requests, rps) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("now", "walked_all_at", "runs_known", "fallback_s", "expected"),
    [
        (1000.0, 990.0, False, 120.0, True),  # no run time known: every page
        (1000.0, None, True, 120.0, True),  # never walked every page: every page
        (1000.0, 990.0, True, 120.0, False),  # walked all 10 s ago: only the first pages
        (1000.0, 940.5, True, 120.0, False),  # 59.5 s ago: not yet
        (1000.0, 940.0, True, 120.0, True),  # 60 s ago: every page again
        (1000.0, 998.0, True, 4.0, True),  # a short fallback halves it: 2 s
        (1000.0, 998.5, True, 4.0, False),
    ],
)
def test_every_page_is_walked_while_runs_are_unknown_and_at_least_every_full_every_s(
    now, walked_all_at, runs_known, fallback_s, expected
):
    policy = SweepPolicy(fallback_s=fallback_s)
    assert policy.walks_all(now, walked_all_at, runs_known) is expected


@pytest.mark.parametrize(
    ("since", "shortest", "now", "expected"),
    [
        (0.0, None, 1.0, True),  # its kind's runs unknown: it may have ended
        (0.0, 600.0, 500.0, False),  # created 500 s ago, none of its kind ended before 600 s
        (0.0, 600.0, 569.0, False),  # 31 s before the shortest run: still not
        (0.0, 600.0, 570.0, True),  # within early_s (30 s) of it: it may have
        (0.0, 600.0, 900.0, True),  # well past it
        (100.0, 5.0, 80.0, True),  # a short run and the margin: at once
    ],
)
def test_a_job_may_have_ended_from_early_s_before_its_kinds_shortest_run(
    since, shortest, now, expected
):
    assert SweepPolicy().may_have_ended(since, shortest, now) is expected
