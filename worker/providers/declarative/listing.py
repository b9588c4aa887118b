"""Walking a spec'd API's ``[list]``: one request per page, following its cursor.

Shared by the three uses of a listing: ``find`` (filtered by our job id), ``bulk_status``
and status sweeps (filtered by remote ids). Each page counts against a budget, so an API
whose cursor never ends cannot hold a worker thread.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from worker.providers.base import bad_answer
from worker.providers.declarative.spec import Listing
from worker.providers.declarative.templates import read_path, render
from worker.providers.http import HttpClient
from worker.providers.matching import SearchBudget


def pages(http: HttpClient, listing: Listing, query: Mapping[str, Any],
          budget: SearchBudget) -> Iterator[list[Any]]:
    """Each page's rows, the spec's own query plus ``query``; ``BadResponse`` for a page
    without a list where the spec says the rows are."""
    base = {**render(listing.request.query, {}), **query}
    cursor = None
    while True:
        budget.page()
        page_query = {**base, listing.cursor_param: cursor} if cursor else base
        answer = http.json(listing.request.method, listing.request.path, params=page_query)
        found, rows = read_path(answer, listing.items)
        if not found or not isinstance(rows, list):
            raise bad_answer(http.provider, f"listing without a list at {listing.items}", answer)
        yield rows
        if listing.next_cursor is None:
            return
        cursor = read_path(answer, listing.next_cursor)[1]
        if not cursor or not rows:
            return
