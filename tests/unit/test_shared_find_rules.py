"""The shared search's pure rules: which walk answers which search, and reading our id back.

The walk itself, its lock and its markers in Redis are exercised against the emulator and a
real Redis in ``tests/integration/test_shared_find.py``.
"""

from __future__ import annotations

import math

import pytest

from emulator.moderately.listing import ListSpec, PageRequest, page_of, paginate
from worker.providers.moderately.params import default_summary, job_marker, marked_job_id
from worker.providers.shared_walk import Walked

WALK = Walked(started=100.0, since=40.0, unread=(("r1", 50.0), ("r2", 30.0), ("r3", math.inf)))


@pytest.mark.parametrize(("since", "ready_at", "covers"), [
    (40.0, 100.0, True),  # began as the walk did, same window
    (60.0, 90.0, True),  # began earlier, narrower window
    (30.0, 90.0, False),  # its window reaches further back than the walk read
    (60.0, 100.5, False),  # began after the walk: the walk may have missed its create
])
def test_a_walk_answers_only_searches_that_began_before_it_within_its_window(
    since, ready_at, covers
):
    assert WALK.covers(since, ready_at) is covers


def test_unreadable_rows_count_only_inside_the_searchs_window():
    assert WALK.doubts(45.0) == ["r1", "r3"]  # r3: creation time unreadable, never ruled out
    assert WALK.doubts(60.0) == ["r3"]


@pytest.mark.parametrize(("summary", "job_id"), [
    (default_summary("0123abcd"), "0123abcd"),
    ("extract tables" + job_marker("0123abcd-2"), "0123abcd-2"),
    ("extract tables", None),
    ("jobfleet job two words", None),
    ("a [jobfleet ]", None),
    (None, None),
    (42, None),
])
def test_the_job_id_is_read_back_from_a_summary_only_as_we_write_it(summary, job_id):
    assert marked_job_id(summary) == job_id


SPEC = ListSpec(10, 1000, {"createdAt": lambda row, now: row[0]})
ROWS = [(1.0, 0), (1.0, 1), (2.0, 2), (3.0, 3), (3.0, 4), (3.0, 5), (4.0, 6)]  # (created, seq)


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize(("page", "size"), [(1, 3), (2, 3), (3, 3), (4, 3), (1, 10)])
def test_a_page_cut_from_rows_in_order_is_the_page_a_sort_gives(descending, page, size):
    request = PageRequest(page, size, "createdAt", descending)
    render = lambda row: {"seq": row[1]}  # noqa: E731
    assert page_of(ROWS, request, render) == paginate(ROWS, request, SPEC, 0.0,
                                                        lambda row: row[1], render)
