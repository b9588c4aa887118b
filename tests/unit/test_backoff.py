import pytest

from worker.backoff import PollPolicy

POLICY = PollPolicy(initial_s=2.0, factor=2.0, cap_s=60.0, jitter=0.1)


@pytest.mark.parametrize(
    ("attempt", "rand", "expected"),
    [
        (0, 0.5, 2.0),  # rand 0.5 means no jitter
        (1, 0.5, 4.0),
        (2, 0.5, 8.0),
        (4, 0.5, 32.0),
        (5, 0.5, 60.0),  # 64 capped
        (50, 0.5, 60.0),
        (1000, 0.5, 60.0),  # no overflow for absurd attempt counts
        (0, 0.0, 1.8),  # -10 %
        (0, 0.999999, 2.2),  # +10 %
        (5, 0.999999, 60.0),  # jitter never exceeds the cap
    ],
)
def test_delay_grows_by_factor_up_to_the_cap(attempt, rand, expected):
    assert POLICY.delay(attempt, rand=rand) == pytest.approx(expected, rel=1e-4)


@pytest.mark.parametrize(
    ("hint", "expected"),
    [(7.0, 7.0), (0.0, 0.2), (600.0, 60.0)],
)
def test_a_platform_hint_wins_within_floor_and_cap(hint, expected):
    assert POLICY.delay(3, hint=hint, rand=0.5) == expected


def test_a_negative_hint_is_ignored():
    assert POLICY.delay(0, hint=-1, rand=0.5) == 2.0


@pytest.mark.parametrize(("remaining", "expected"), [(5.0, 5.0), (0.5, 0.5), (-3.0, 0.0)])
def test_the_next_check_never_lands_past_the_deadline(remaining, expected):
    assert POLICY.delay(4, remaining=remaining, rand=0.5) == expected


def test_jitter_spreads_jobs_submitted_together():
    draws = {round(POLICY.delay(2), 6) for _ in range(50)}
    assert len(draws) > 10
    assert all(7.2 <= d <= 8.8 for d in draws)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"initial_s": 0},
        {"initial_s": 10, "cap_s": 5},
        {"factor": 0.5},
        {"jitter": 1.0},
    ],
)
def test_inconsistent_policies_are_refused(kwargs):
    with pytest.raises(ValueError):
        PollPolicy(**kwargs)
