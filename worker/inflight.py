"""The cap on remote jobs alive at once per provider (``JOBFLEET_<P>_MAX_IN_FLIGHT``).

One home for the limit: the dispatcher asks :meth:`InFlightLimit.room` how many jobs not yet
in flight it may hand out to submit (a job already ``submitting``, whose create is retried or
resumed, holds its slot and needs none), and a job becomes ``submitting`` only through
:meth:`InFlightLimit.admit`, whose check and count are one atomic script in the store (so
workers racing for the last slot cannot both take it). A job held back waits in the submit
index, holding no worker.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from worker.store import JobStore

Cap = Callable[[str], "int | None"]  # provider → its cap, None for none


class InFlightLimit:
    """The fleet-wide in-flight cap of every provider, counted in the job store."""

    def __init__(self, store: JobStore, cap: Cap) -> None:
        self.store = store
        self.cap = cap

    def room(self, provider: str) -> int | None:
        """How many more jobs of ``provider`` may start submitting now; None when unlimited."""
        cap = self.cap(provider)
        return None if cap is None else max(cap - self.store.in_flight(provider), 0)

    def admit(self, job_id: str, provider: str, changes: Mapping[str, Any]) -> str:
        """queued → submitting within the cap: 'ok', 'at_limit', or the state in the way."""
        return self.store.start_submitting(job_id, self.cap(provider), **changes)
