"""The stalled-consumer decision (worker.liveness) as a table of observation sequences."""

import pytest

from worker.liveness import Observation, Stretch, follow, stalled

BOUND_S = 60.0


def verdict(looks: list[tuple[float, int, int | None, int | None]]) -> tuple[bool, float | None]:
    """Follows (at, taken, waiting, room) looks in order; the last one's verdict and since."""
    stretch = Stretch()
    for at, taken, waiting, room in looks:
        stretch = follow(stretch, Observation(at, taken, waiting, room))
    return stalled(stretch, looks[-1][0], BOUND_S), stretch.since


@pytest.mark.parametrize(
    ("looks", "expected"),
    [
        # work waiting, room to take it, nothing taken for the whole bound: stalled
        ([(0, 5, 3, 16), (30, 5, 7, 16), (60, 5, 9, 16)], (True, 0)),
        # the same, one look short of the bound: not yet
        ([(0, 5, 3, 16), (30, 5, 7, 16), (59, 5, 9, 16)], (False, 0)),
        # an idle fleet: nothing waiting, ever
        ([(t, 0, 0, 16) for t in range(0, 600, 10)], (False, None)),
        # busy on all threads: work waits, but no room
        ([(t, 40, 50, 0) for t in range(0, 600, 10)], (False, None)),
        # more held than the limit (a prefetch lowered while it held them): no room either
        ([(t, 40, 50, -3) for t in range(0, 600, 10)], (False, None)),
        # taking messages all along: every look begins the stretch again
        ([(t, t, 50, 4) for t in range(0, 600, 10)], (False, 590)),
        # took one message late in the stretch: measured from that look
        ([(0, 5, 3, 16), (50, 6, 3, 16), (100, 6, 3, 16)], (False, 50)),
        # ... and stalled a bound after it
        ([(0, 5, 3, 16), (50, 6, 3, 16), (110, 6, 3, 16)], (True, 50)),
        # the queue emptied in between (other workers drained it): the stretch ends
        ([(0, 5, 3, 16), (30, 5, 0, 16), (60, 5, 2, 16), (100, 5, 2, 16)], (False, 60)),
        # no room for a while in between: the stretch ends
        ([(0, 5, 3, 16), (30, 5, 3, 0), (40, 5, 3, 16), (90, 5, 3, 16)], (False, 40)),
        # Redis unreadable (restarting): no verdict, the stretch begins again after it
        ([(0, 5, 3, 16), (30, 5, None, 16), (45, 5, 3, 16), (100, 5, 3, 16)], (False, 45)),
        ([(0, 5, 3, 16), (30, 5, None, 16), (45, 5, 3, 16), (105, 5, 3, 16)], (True, 45)),
        # the consumer reconnecting (no channel yet): likewise
        ([(0, 5, 3, 16), (30, 5, 3, None), (40, 5, 3, 16), (99, 5, 3, 16)], (False, 40)),
        # one look alone is never a stall, however long since the process started
        ([(10_000, 0, 3, 16)], (False, 10_000)),
    ],
)
def test_a_consumer_is_stalled_only_after_a_bound_of_waiting_work_room_and_nothing_taken(
        looks, expected):
    assert verdict(looks) == expected
