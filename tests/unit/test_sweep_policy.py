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
