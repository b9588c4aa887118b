"""The adaptive pickup window's rules as tables: measured waits → window."""

from __future__ import annotations

import pytest

from worker.pickup import HEADROOM, MEMORY_S, recent_wait, window_s

NOW = 1000.0
FLOOR, CAP = 6.0, 120.0


@pytest.mark.parametrize(
    ("waits", "expected"),
    [
        ([], 0.0),  # nothing measured: nothing to cover
        ([(4.0, NOW)], 4.0),  # just measured: full weight
        ([(4.0, NOW - MEMORY_S / 2)], 2.0),  # half its memory ago: half its weight
        ([(4.0, NOW - MEMORY_S)], 0.0),  # forgotten (a process that died fades the same way)
        ([(4.0, NOW - MEMORY_S * 2)], 0.0),
        ([(1.0, NOW), (10.0, NOW - MEMORY_S * 0.9)], 1.0),  # the longest after fading
        ([(3.0, NOW + 1.0)], 3.0),  # a clock slightly ahead counts as just measured
    ],
)
def test_a_measured_wait_counts_fully_at_once_and_fades_over_the_memory(waits, expected):
    assert recent_wait(waits, NOW) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("wait", "expected"),
    [
        (0.0, FLOOR),  # a quick queue: the configured floor
        (FLOOR / HEADROOM, FLOOR),
        (8.0, 12.0),  # half as long again: a message slower than any seen still comes once
        (30.0, 45.0),
        (90.0, CAP),  # never wider than the cap: a dead worker's work always comes back
    ],
)
def test_the_window_is_half_again_the_recent_wait_between_the_floor_and_the_cap(wait, expected):
    assert window_s(wait, FLOOR, CAP) == expected


def test_a_cap_below_the_floor_leaves_the_floor():
    assert window_s(50.0, FLOOR, 2.0) == FLOOR
