"""Walking a platform's list pages, the three ways our platforms page.

Pure generators over a ``fetch`` function that asks for one page, so the walking rules are
unit-tested without a server:

- :func:`numbered` — page numbers with a total ``count`` (Deep Origin's execution list);
- :func:`flagged` — page numbers with a "has next page" flag (Moderately's lists);
- :func:`to_empty` — offsets read until an empty page (OpenProtein's ``v1/jobs``, whose
  order and largest page size are undocumented, so a short page proves nothing).

:class:`CreationWindow` is where a list filtered on creation time opens, learned from the
rows. Every walk stops after ``MAX_PAGES``, so a server that never says "last page" cannot hold
a sweep forever; :func:`listed` turns a page's rows into ``(remote_id, status)`` pairs
(skipping rows of jobs not looked for, noting a running job cheaply with
:func:`still_running`);
:func:`reread` asks again for a page that came back unreadable, so one garbled answer does not
waste a long walk.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Container, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from worker.errors import BadResponse
from worker.providers.matching import parse_time
from worker.providers.types import Listed, RemoteState, RemoteStatus, Watched

log = logging.getLogger("jobfleet.paging")

MAX_PAGES = 10_000
# A sweep's creation-time window opens this long before our oldest create began: room for
# the platform's clock running behind ours (an assumption about the real services), until
# a :class:`CreationWindow` has learned from the rows how far behind it runs.
CLOCK_SKEW_S = 120.0
SKEW_MARGIN_S = 5.0  # added to the largest lag a CreationWindow has seen
Row = Mapping[str, Any]
STALE_PAGES = 3  # pages in a row with no new row before an offset walk gives up (to_empty)
REREADS = 2  # further attempts at a read whose answer came back unreadable
REREAD_PAUSE_S = 0.5  # before the first of them, doubling: a bad gateway often lasts a moment
T = TypeVar("T")


class CreationWindow:
    """Where a sweep's creation-time filter opens, learned from the platform's own clock.

    A list filtered on creation time must open before the oldest watched job was created
    *by the platform's clock*. Until a row has shown that clock, the window opens
    ``CLOCK_SKEW_S`` before our oldest create began. Each page's first watched row then
    tells how far the platform's creation time lags our create start (our start minus its
    creation: the clock difference less that create's own latency, so the largest lag seen
    is the closest bound), and the window opens that lag (at least 0) plus
    ``SKEW_MARGIN_S`` early. A job created just before the window opens would only be left to
    its own status request (the fallback), never lost.
    """

    def __init__(self) -> None:
        self.lag: float | None = None  # the largest (our create start − its creation) seen

    def opens(self, watched: Iterable[Watched]) -> float:
        """The creation time, by our clock, after which every watched job should be listed."""
        early = CLOCK_SKEW_S if self.lag is None else max(self.lag, 0.0) + SKEW_MARGIN_S
        return min(job.since for job in watched) - early

    def learn(self, rows: Iterable[Row], since: Mapping[str, float], id_key: str,
              created_key: str) -> None:
        """Notes the lag of the first row whose id is in ``since`` (id → our create start)."""
        for row in rows:
            remote_id = row.get(id_key) if isinstance(row, Mapping) else None
            began = since.get(remote_id) if type(remote_id) is str else None
            if began is None:
                continue
            created = parse_time(row.get(created_key))
            if created is not None:
                lag = began - created
                self.lag = lag if self.lag is None else max(self.lag, lag)
            return


def numbered(
    fetch: Callable[[int], tuple[Sequence[Row], int | None]], page_size: int, first: int = 0
) -> Iterator[Sequence[Row]]:
    """Pages ``first, first+1, …`` until a short page or ``count`` rows were read.

    ``fetch(page)`` returns the page's rows and the total count across pages (None when
    the platform gave none, which ends the walk after this page, as the official client does).
    """
    seen = 0
    for page in range(first, first + MAX_PAGES):
        rows, total = fetch(page)
        yield rows
        seen += len(rows)
        if len(rows) < page_size or total is None or seen >= total:
            return
    log.warning("stopped a list walk after %d pages", MAX_PAGES)


def flagged(
    fetch: Callable[[int], tuple[Sequence[Row], bool]], first: int = 1
) -> Iterator[Sequence[Row]]:
    """Pages ``first, first+1, …`` while the platform says another page follows."""
    for page in range(first, first + MAX_PAGES):
        rows, more = fetch(page)
        yield rows
        if not rows or not more:
            return
    log.warning("stopped a list walk after %d pages", MAX_PAGES)


def to_empty(
    fetch: Callable[[int], Sequence[Row]], id_of: Callable[[Row], str],
    stalled: Callable[[str], None] | None = None,
) -> Iterator[Sequence[Row]]:
    """Offsets ``0, n₁, n₁+n₂, …`` until an empty page; yields only rows not seen before.

    A list whose newest rows come first shifts while it is read: every job created between
    two pages pushes the older rows one place on, so a page may repeat rows already seen:

    * a page of repeats as long as the longest page yet is the middle of the list, pushed on
      by a page's worth of new jobs: it is read past;
    * a shorter page of repeats is its end, pushed on (nothing lies past it): the walk ends;
    * :data:`STALE_PAGES` full pages of repeats in a row mean the offset is not honoured, or
      jobs are created faster than pages are read: the walk did not reach the end, and
      ``stalled`` is told why (by default it stops there with a warning; a search raises
      instead, as it cannot conclude from part of the list).
    """
    seen: set[str] = set()
    offset = stale = longest = 0
    for _ in range(MAX_PAGES):
        rows = fetch(offset)
        fresh = [row for row in rows if id_of(row) not in seen]
        longest = max(longest, len(rows))
        if not rows or (not fresh and len(rows) < longest):
            return
        stale = 0 if fresh else stale + 1
        if stale >= STALE_PAGES:
            (stalled or _stop_walk)(f"the list repeated {stale} full pages in a row at offset "
                                    f"{offset} (page_offset not honoured, or jobs created "
                                    "faster than pages are read)")
            return
        seen.update(id_of(row) for row in fresh)
        if fresh:
            yield fresh
        offset += len(rows)
    log.warning("stopped a list walk after %d pages", MAX_PAGES)


def _stop_walk(why: str) -> None:
    log.warning("stopped a list walk: %s", why)


def listed(
    rows: Iterable[Row],
    id_key: str,
    read: Callable[[Row], RemoteStatus],
    *,
    wanted: Container[str] | None = None,
    running: Callable[[Row], RemoteStatus | None] | None = None,
) -> list[Listed]:
    """The rows as ``(remote_id, status)``; an unreadable row is left out and logged.

    Leaving it out is safe: its job is simply not seen by this sweep, and its own status
    request (the fallback) reports the problem on the job. With ``wanted`` (the remote ids a
    sweep looks for), rows of other jobs are skipped before anything else is read. With
    ``running`` (see :func:`still_running`), a well-formed row of a job not yet ended gets
    that cheap status; every other row is read in full by ``read``.
    """
    out: list[Listed] = []
    for row in rows:
        remote_id = row.get(id_key) if type(row) is dict or isinstance(row, Mapping) else None
        if type(remote_id) is not str or (wanted is not None and remote_id not in wanted):
            continue
        status = running(row) if running is not None else None
        if status is None:
            try:
                status = read(row)
            except BadResponse as exc:
                log.info("list row %s unreadable, left to its own poll: %s", remote_id, exc)
                continue
        out.append((remote_id, status))
    return out


def still_running(
    required: Mapping[str, type], states: Mapping[str, RemoteState]
) -> Callable[[Row], RemoteStatus | None]:
    """A cheap reader of list rows for :func:`listed`: a row whose ``status`` is one of
    ``states`` that is not terminal, with every ``required`` key of its type, gets a shared
    status of that state without the row's record (a sweep only notes such a job as still
    running); any other row gets None, to be read in full (and rejected there if malformed).
    """
    noted = {raw: RemoteStatus(state, raw) for raw, state in states.items() if not state.terminal}
    checks = tuple(required.items())

    def read(row: Row) -> RemoteStatus | None:
        raw = row.get("status")
        status = noted.get(raw) if type(raw) is str else None
        if status is None:
            return None
        for key, kind in checks:
            if not isinstance(row.get(key), kind):
                return None
        return status

    return read


def reread(read: Callable[[], T], sleep: Callable[[float], None] = time.sleep) -> T:
    """``read()``, asked again up to :data:`REREADS` times, after a short pause, while its
    answer is unreadable (a ``BadResponse``: a garbled or truncated body). Only for reads:
    asking again changes nothing on the platform."""
    for attempt in range(REREADS):
        try:
            return read()
        except BadResponse as exc:
            log.info("unreadable answer, reading again: %s", exc)
            sleep(REREAD_PAUSE_S * 2**attempt)
    return read()
