"""The one ``find`` of the platforms whose lost creates are found by payload.

:class:`PayloadSearch` is a :class:`~worker.providers.base.Provider` whose :meth:`find` is
written once, over hooks each platform fills (Moderately AI's and OpenProtein.AI's
``search.py``). What makes a listed job ours, the window and the bounds of a search are the
rules of :mod:`worker.providers.matching`; a search shared by many jobs is
:mod:`worker.providers.shared_find`.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Callable, Iterable
from typing import Any

from worker.providers.base import Provider
from worker.providers.matching import (
    Candidate,
    SearchBudget,
    SearchInconclusive,
    Verdict,
    pick,
    search_since,
)
from worker.providers.types import JobSpec, Submission


class PayloadSearch(Provider):
    """A provider whose lost creates are found by payload: :meth:`find` is written once here.

    The platform fills three hooks: what the create sent (:meth:`sent_payload`), the recent
    jobs that could be ours (:meth:`recent_jobs`, within the window and the budget) and
    whether one of them is (:meth:`payload_verdict`); :func:`pick` decides, and the chosen
    record is read by :meth:`Provider.read_status`. ``clock`` is the provider's own.

    A platform whose remote jobs can carry our job id also names the list a job's remote
    job is in (:meth:`find_scope`), how to walk it (:meth:`scope_jobs`) and how to read
    the id back from a row (:meth:`row_marker`): with ``shared`` set (the fleet's Redis),
    such jobs are settled by one walk for all of them (:mod:`.shared_find`), and the one
    found is then compared in full, as any match.
    """

    clock: Callable[[], float]
    shared: Any = None  # a SharedFind, when the provider was given the fleet's Redis

    def find(
        self, job: JobSpec, taken: Callable[[str], bool] = lambda _: False
    ) -> Submission | None:
        """The remote job a lost create made for ``job``, matched by payload, or None.

        Raises ``SearchInconclusive`` (reason ``submit_unknown``) when a candidate cannot be
        compared in full or the search would run past its bounds.
        """
        sent = self.sent_payload(job)
        since = search_since(job.create_started, self.clock())
        scope = self.find_scope(job, sent) if self.shared is not None else None
        if scope is not None:
            return self._find_marked(job, sent, scope, since, taken)
        budget = SearchBudget(self.name, self.clock)
        candidates = list(self.recent_jobs(job, sent, since, budget))
        found = pick(candidates, lambda c: self.payload_verdict(job, sent, c, budget), taken,
                     self.name, job.adopt_by_payload)
        if found is None:
            return None
        return Submission(found.remote_id, self.read_status(job.kind, found.record))

    def _find_marked(self, job: JobSpec, sent: Any, scope: str, since: float,
                     taken: Callable[[str], bool]) -> Submission | None:
        """The shared search's answer, read and compared in full before it is adopted."""
        remote_id = self.shared.settle(
            job.job_id, repr(job.create_started), scope, since,
            lambda start, budget: self.scope_jobs(scope, start, budget),
            lambda candidate, budget: self.row_marker(scope, candidate, budget),
            not_before=job.settle_at)
        if remote_id is None:
            return None
        if taken(remote_id):
            raise SearchInconclusive(
                f"remote job {remote_id} carries our job id but another of our jobs tracks "
                "it; not created again, to never run the job twice", provider=self.name)
        status = self.status(remote_id, job.kind)
        candidate = Candidate(remote_id, math.inf, status.record)
        verdict = self.payload_verdict(job, sent, candidate, SearchBudget(self.name, self.clock))
        if verdict is not Verdict.MATCH:
            raise SearchInconclusive(
                f"remote job {remote_id} carries our job id but reads back as {verdict.value}; "
                "not created again, to never run the job twice", provider=self.name)
        return Submission(remote_id, status)

    def find_scope(self, job: JobSpec, sent: Any) -> str | None:
        """The list ``job``'s remote job must be in, when it carries our job id; None when
        it cannot (found by payload alone, job by job)."""
        return None

    def scope_jobs(self, scope: str, since: float, budget: SearchBudget) -> Iterable[Candidate]:
        """Every job of ``scope`` created since ``since`` (see :meth:`find_scope`)."""
        raise NotImplementedError

    def row_marker(self, scope: str, candidate: Candidate, budget: SearchBudget) -> str | None:
        """The job id a listed job carries, None when it carries none, or
        :data:`~worker.providers.shared_walk.UNSURE` when it cannot be read."""
        raise NotImplementedError

    @abstractmethod
    def sent_payload(self, job: JobSpec) -> Any:
        """What the create request for ``job`` sent (checked params, or the body)."""

    @abstractmethod
    def recent_jobs(
        self, job: JobSpec, sent: Any, since: float, budget: SearchBudget
    ) -> Iterable[Candidate]:
        """The platform's jobs that could be ``job``'s: of its kind, created since ``since``;
        each list page is accounted with ``budget.page()``."""

    @abstractmethod
    def payload_verdict(
        self, job: JobSpec, sent: Any, candidate: Candidate, budget: SearchBudget
    ) -> Verdict:
        """Whether ``candidate`` is the job ``sent`` created (reading it back may cost
        requests: check ``budget.check_time()`` first)."""
