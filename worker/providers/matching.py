"""Finding the remote job a lost create made, on platforms that have no tag to search by.

Moderately AI and OpenProtein.AI take no idempotency key and no client tag, so after a create
whose answer was lost (:meth:`Provider.find`) the fleet lists the platform's recent jobs and
compares each one with what it sent. This module holds the rules both searches share (pure:
no request is made here); :class:`~worker.providers.payload_search.PayloadSearch` is the one
``find`` both run through their hooks, by these rules:

* the **window**: jobs created since ``create_started`` minus :data:`FIND_SLACK_S` (our
  clock and the platform's may disagree), or in the last :data:`FIND_LOOKBACK_S` when the
  start of the earlier attempt is unknown;
* the **bounds**: at most :data:`FIND_MAX_PAGES` list pages and :data:`FIND_BUDGET_S` of wall
  time per search; past either, the search is inconclusive;
* a :class:`Verdict` per candidate: a field that cannot be read back makes a candidate
  ``UNSURE``, never a match and never a stranger; a candidate that carries our job id (an
  echoed field: Moderately's summary, OpenProtein's MSA sequence name) is a ``MATCH``; one
  that only has exactly our inputs is a ``PAYLOAD`` match, which a stranger's identical job
  would be too, so it is adopted only when the user opts in (``JOBFLEET_ADOPT_BY_PAYLOAD``)
  and otherwise fails the job ``submit_unknown`` rather than guess;
* **canonical payload comparison** (:func:`canonical`): key order and ``1`` versus ``1.0``
  do not matter, list order does;
* the rule that turns candidates into an answer (:func:`pick`): the oldest match not already
  tracked by another of our jobs, so two jobs with identical payloads adopt different remote
  jobs deterministically; no match but an unsure (or unadoptable payload) candidate is
  :class:`SearchInconclusive`.

An inconclusive search fails the job with reason ``submit_unknown``, exactly what the fleet
did before these platforms could be searched: never a second remote job on a guess.

These bounds are those of a search made job by job (a match by inputs alone). A job whose
remote job carries its id is searched for with every other such job of the platform
credential, by one walk of the list (:mod:`worker.providers.shared_find`), whose bounds
scale with the list rather than with one job.
"""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NoReturn

from worker.errors import PermanentError

FIND_SLACK_S = 60.0  # the platform's clock may run this far behind ours
FIND_LOOKBACK_S = 15 * 60.0  # window when the earlier attempt's start is unknown
FIND_MAX_PAGES = 20  # list pages one search may read: 2,000 jobs at 100 a page
FIND_BUDGET_S = 20.0  # wall time one search may take; the create must still fit in the lease


class Verdict(enum.Enum):
    """Whether a listed remote job is the one our lost create made."""

    MATCH = "match"  # it carries our job id (and every field we sent reads back equal)
    PAYLOAD = "payload"  # every field we sent reads back equal, but nothing marks it ours
    DIFFERENT = "different"  # some field reads back different: not ours
    UNSURE = "unsure"  # what could be read agrees, but some field cannot be read back


class SearchInconclusive(PermanentError):
    """The search could not rule out a remote job created by the lost request.

    Creating again could run the job twice, so the job fails, as it did before the platform
    could be searched. Raised when a candidate cannot be fully compared or the search ran
    past its bounds.
    """

    reason = "submit_unknown"


def canonical(value: Any) -> str:
    """``value`` as one JSON text for equality: sorted keys, integral floats as integers."""
    return json.dumps(_plain(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _plain(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        return int(value) if math.isfinite(value) and value.is_integer() else value
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return str(value)


def same(left: Any, right: Any) -> bool:
    """Whether two JSON values are equal canonically (see :func:`canonical`)."""
    return canonical(left) == canonical(right)


def search_since(create_started: float | None, now: float) -> float:
    """The epoch time from which the platform's jobs are candidates."""
    if create_started is None:
        return now - FIND_LOOKBACK_S
    return create_started - FIND_SLACK_S


def parse_time(text: Any) -> float | None:
    """An ISO 8601 timestamp as epoch seconds (no offset means UTC); None when unreadable."""
    if not isinstance(text, str) or not text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def iso_utc(timestamp: float) -> str:
    """Epoch seconds as ISO 8601 with an explicit ``+00:00``: no zone left to guess."""
    return datetime.fromtimestamp(timestamp, UTC).isoformat()


@dataclass
class SearchBudget:
    """Pages and wall time one search may still spend; raises when either runs out."""

    provider: str
    clock: Callable[[], float]
    pages: int = FIND_MAX_PAGES
    seconds: float = FIND_BUDGET_S

    def __post_init__(self) -> None:
        self._deadline = self.clock() + self.seconds
        self._left = self.pages

    def page(self) -> None:
        """Accounts for one more list page; raises ``SearchInconclusive`` past a bound."""
        if self._left <= 0:
            self.exhausted(f"more than {self.pages} pages of recent jobs")
        self._left -= 1
        self.check_time()

    def check_time(self) -> None:
        """Raises ``SearchInconclusive`` once the search has taken too long."""
        if self.clock() > self._deadline:
            self.exhausted(f"still searching after {self.seconds:g}s")

    def exhausted(self, why: str) -> NoReturn:
        """Ends the search: what was not looked at might hold our job."""
        raise SearchInconclusive(
            f"searched for the job a lost create may have made and stopped: {why}; "
            "not created again, to never run the job twice", provider=self.provider)


def worst(*verdicts: Verdict) -> Verdict:
    """Several fields' verdicts as one: any difference rules a job out, any doubt is doubt."""
    for verdict in (Verdict.DIFFERENT, Verdict.UNSURE, Verdict.PAYLOAD):
        if verdict in verdicts:
            return verdict
    return Verdict.MATCH


@dataclass(frozen=True)
class Candidate:
    """A listed remote job inside the window (``created`` is +inf when unreadable)."""

    remote_id: str
    created: float
    record: Mapping[str, Any]


def pick(
    candidates: Iterable[Candidate],
    verdict: Callable[[Candidate], Verdict],
    taken: Callable[[str], bool],
    provider: str,
    adopt_by_payload: bool = False,
) -> Candidate | None:
    """The oldest matching candidate no other job of ours tracks; None when nothing matched.

    ``verdict`` is asked oldest first and only until a match, since it may cost requests. A
    ``PAYLOAD`` match counts only with ``adopt_by_payload``. Raises ``SearchInconclusive``
    when nothing matched but some candidate could not be compared in full, or matched only
    by payload without the opt-in: it may be the job we created.
    """
    unsure: list[str] = []
    unproven: list[str] = []
    for candidate in sorted(candidates, key=lambda c: (c.created, c.remote_id)):
        if taken(candidate.remote_id):
            continue
        found = verdict(candidate)
        if found is Verdict.MATCH or (found is Verdict.PAYLOAD and adopt_by_payload):
            return candidate
        if found is Verdict.UNSURE:
            unsure.append(candidate.remote_id)
        elif found is Verdict.PAYLOAD:
            unproven.append(candidate.remote_id)
    if unsure:
        raise SearchInconclusive(
            f"remote job(s) {', '.join(unsure[:3])} may be the one a lost create made, but "
            "their inputs cannot be read back in full; not created again, to never run the "
            "job twice", provider=provider)
    if unproven:
        raise SearchInconclusive(
            f"remote job(s) {', '.join(unproven[:3])} have exactly our inputs but nothing "
            "marks them as ours (a stranger's identical job would look the same); not "
            "adopted and not created again (JOBFLEET_ADOPT_BY_PAYLOAD=true adopts such a "
            "match)", provider=provider)
    return None
