"""Page walking and matching list rows to our jobs, without a server."""

import pytest

from worker.errors import BadResponse
from worker.providers import paging
from worker.providers.deeporigin.records import iso_ms
from worker.providers.types import RemoteState, RemoteStatus, Watched
from worker.sweep_watch import match


def rows(ids):
    return [{"id": i} for i in ids]


class Server:
    """A list endpoint over ``total`` rows; records which pages were asked for."""

    def __init__(self, total, *, count=True, cap=None):
        self.data = [f"r{i}" for i in range(total)]
        self.count, self.cap, self.asked = count, cap, []

    def numbered(self, size):
        def fetch(page):
            self.asked.append(page)
            return rows(self.data[page * size : (page + 1) * size]), (
                len(self.data) if self.count else None)
        return fetch

    def offsets(self, size):
        def fetch(offset):
            self.asked.append(offset)
            return rows(self.data[offset : offset + min(size, self.cap or size)])
        return fetch


@pytest.mark.parametrize(
    ("total", "size", "count", "pages"),
    [
        (0, 10, True, [0]),
        (5, 10, True, [0]),
        (10, 10, True, [0]),  # count says all were read: no empty page asked for
        (25, 10, True, [0, 1, 2]),
        (30, 10, True, [0, 1, 2]),
        (25, 10, False, [0]),  # no count: stop after page 0, as the official client does
    ],
)
def test_numbered_pages_stop_at_a_short_page_or_the_count(total, size, count, pages):
    server = Server(total, count=count)
    got = [row["id"] for page in paging.numbered(server.numbered(size), size) for row in page]
    assert server.asked == pages
    assert got == server.data[: len(got)]
    assert len(got) == (total if count else min(total, size))


@pytest.mark.parametrize(
    ("answers", "pages"),
    [
        ([(rows("ab"), True), (rows("c"), False)], 2),
        ([(rows("ab"), False), (rows("c"), False)], 1),
        ([(rows("ab"), True), ([], True)], 2),  # an empty page ends it whatever the flag says
    ],
)
def test_flagged_pages_follow_the_next_page_flag(answers, pages):
    asked = []

    def fetch(page):
        asked.append(page)
        return answers[page - 1]

    assert len(list(paging.flagged(fetch))) == pages
    assert asked == list(range(1, pages + 1))


def test_offset_pages_read_to_an_empty_page_whatever_the_server_caps_pages_at():
    server = Server(23, cap=5)  # asked for 10 a page, the server gives 5
    got = [row["id"] for page in paging.to_empty(server.offsets(10), lambda r: r["id"])
           for row in page]
    assert got == server.data
    assert server.asked == [0, 5, 10, 15, 20, 23]


def test_offset_pages_stop_when_the_offset_is_ignored():
    asked, told = [], []

    def fetch(offset):
        asked.append(offset)
        return rows("abc")  # the same page, whatever the offset

    pages = paging.to_empty(fetch, lambda r: r["id"], told.append)
    assert [len(p) for p in pages] == [3]
    assert asked == [0, 3, 6, 9]  # three pages in a row with nothing new
    assert told == ["the list repeated 3 full pages in a row at offset 9 (page_offset not "
                    "honoured, or jobs created faster than pages are read)"]


@pytest.mark.parametrize("created_between_pages", [0, 1, 2])
def test_a_newest_first_list_growing_while_it_is_read_is_read_whole(created_between_pages):
    """Jobs created between two pages push the older rows on, so the next page repeats
    rows; the walk reads past them and misses none."""
    listed, told = growing_list(created_between_pages)
    got = {row["id"] for page in paging.to_empty(listed, lambda r: r["id"], told.append)
           for row in page}
    assert {f"old{i}" for i in range(10)} <= got
    assert told == []


def test_a_list_growing_a_page_per_read_is_a_stalled_walk_not_a_short_one():
    listed, told = growing_list(3)
    list(paging.to_empty(listed, lambda r: r["id"], told.append))
    assert len(told) == 1 and "jobs created faster than pages are read" in told[0]


def growing_list(created_between_pages, size=3):
    """A newest-first list of 10 rows, ``size`` a page, that grows between pages."""
    listed = [f"old{i}" for i in range(10)][::-1]
    made = iter(range(1_000))

    def fetch(offset):
        page = rows(listed[offset : offset + size])
        listed[:0] = [f"new{next(made)}" for _ in range(created_between_pages)][::-1]
        return page

    return fetch, []


def test_a_walk_that_never_ends_is_cut(monkeypatch):
    monkeypatch.setattr(paging, "MAX_PAGES", 4)
    assert len(list(paging.flagged(lambda page: (rows("x"), True)))) == 4


def status(raw, state):
    return RemoteStatus(state=state, raw=raw)


def read(row):
    if row.get("status") == "??":
        raise BadResponse("unknown status", provider="test")
    return status(row["status"], RemoteState(row["status"]))


def test_listed_keeps_readable_rows_and_leaves_the_others_to_their_own_poll():
    page = [{"id": "a", "status": "running"}, {"id": "b", "status": "??"},
            {"status": "running"}, "garbage", {"id": "c", "status": "succeeded"}]
    assert [(rid, s.state) for rid, s in paging.listed(page, "id", read)] == [
        ("a", RemoteState.RUNNING), ("c", RemoteState.SUCCEEDED)]


def test_rows_are_matched_to_our_jobs_by_remote_id():
    listed = [("r1", status("Running", RemoteState.RUNNING)),
              ("r2", status("Completed", RemoteState.SUCCEEDED)),
              ("r3", status("Failed", RemoteState.FAILED)),
              ("stranger", status("Completed", RemoteState.SUCCEEDED)),
              ("r4", status("Queued", RemoteState.PENDING))]
    seen = match(listed, {"r1": "j1", "r2": "j2", "r3": "j3", "r4": "j4", "r5": "j5"})
    assert {job: s.raw for job, s in seen.ended.items()} == {"j2": "Completed", "j3": "Failed"}
    assert seen.running == ["j1", "j4"]  # j5 unseen: left to its fallback poll


def garbled(times: int):
    """A read whose first ``times`` answers are unreadable; counts its calls."""
    calls = []

    def read():
        calls.append(1)
        if len(calls) <= times:
            raise BadResponse("truncated JSON", provider="p")
        return "page"
    return read, calls


@pytest.mark.parametrize("times", [0, 1, paging.REREADS])
def test_an_unreadable_page_is_read_again_after_a_growing_pause(times):
    read, calls = garbled(times)
    pauses: list[float] = []
    assert paging.reread(read, sleep=pauses.append) == "page"
    assert len(calls) == times + 1
    assert pauses == [paging.REREAD_PAUSE_S * 2**i for i in range(times)]


def test_a_page_unreadable_every_time_is_an_error_after_the_rereads():
    read, calls = garbled(paging.REREADS + 1)
    with pytest.raises(BadResponse):
        paging.reread(read, sleep=lambda _: None)
    assert len(calls) == paging.REREADS + 1


T0 = 1_700_000_000.0  # our create start of the oldest watched job (epoch seconds)


def created(offset_s):
    """A row's ``createdAt`` ``offset_s`` after T0, as Deep Origin writes it."""
    return iso_ms(T0 + offset_s)


@pytest.mark.parametrize(
    ("pages", "opens_before_t0"),
    [
        # nothing learned yet: the conservative CLOCK_SKEW_S
        ([], paging.CLOCK_SKEW_S),
        # the platform created it 0.2 s after our create began (same clock): the margin only
        ([[{"executionId": "a", "createdAt": created(0.2)}]], paging.SKEW_MARGIN_S),
        # its clock runs 40 s behind ours: 40 s less that create's latency (0.3 s), + margin
        ([[{"executionId": "a", "createdAt": created(-39.7)}]], 39.7 + paging.SKEW_MARGIN_S),
        # the largest lag seen is kept, whichever page showed it
        ([[{"executionId": "a", "createdAt": created(-39.7)}],
          [{"executionId": "b", "createdAt": created(-2.0)}]], 39.7 + paging.SKEW_MARGIN_S),
        # rows of jobs not watched, unreadable ids and times teach nothing; the first
        # watched row with a readable time does
        ([[{"executionId": "stranger", "createdAt": created(-500)}, "garbage",
           {"executionId": ["a"]}, {"executionId": "a", "createdAt": "yesterday"}]],
         paging.CLOCK_SKEW_S),
        ([[{"executionId": "stranger", "createdAt": created(-500)},
           {"executionId": "b", "createdAt": created(-9.0)},
           {"executionId": "a", "createdAt": created(-60.0)}]], 9.0 + paging.SKEW_MARGIN_S),
    ],
)
def test_a_creation_window_opens_by_the_lag_the_platforms_rows_showed(pages, opens_before_t0):
    watched = [Watched("a", "tool", T0), Watched("b", "tool", T0)]
    window = paging.CreationWindow()
    for page in pages:
        window.learn(page, {job.remote_id: job.since for job in watched}, "executionId",
                     "createdAt")
    assert window.opens(watched) == pytest.approx(T0 - opens_before_t0, abs=1e-3)
