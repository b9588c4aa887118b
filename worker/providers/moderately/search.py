"""How a lost Moderately AI create is found again: by our job id in its summary, else by
payload, the platform having no idempotency key and no tag or metadata on executions.

* **what is listed**: the executions of the job's configuration version
  (``pipelineConfigurationVersionIds`` / ``agentConfigurationVersionIds``, the only
  documented filters that narrow it). Pipelines are read newest first
  (``orderBy=createdAt&orderDirection=desc``) and reading stops past the window; the agent
  list documents no order, so it is read to its end. Either way at most
  :data:`~worker.providers.matching.FIND_MAX_PAGES` pages of 100 in
  :data:`~worker.providers.matching.FIND_BUDGET_S`, else the search is inconclusive.
* **the window**: created at or after ``create_started`` minus 60 s of clock slack (the
  last 15 minutes when the earlier attempt's start is unknown).
* **what matches**: the input summary we send names our job id (see
  :mod:`.params`), which decides alone; a caller's summary too long for the
  marker falls back to every sent field echoing back equal (canonical JSON). The oldest
  match not already tracked by another of our jobs is adopted.
* **searched together**: given the fleet's Redis, jobs whose summary names them are found
  by one walk of their configuration version's list for all of them
  (:mod:`~worker.providers.shared_find`), in the largest pages each list documents (agents
  100, pipelines 1,000); the per-job bounds above then apply only to matches by payload.

The search rules themselves (oldest first, a job another of ours tracks is skipped, an
unreadable candidate makes the search inconclusive) are
:class:`~worker.providers.payload_search.PayloadSearch`'s.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Iterator, Mapping
from functools import partial
from itertools import count
from typing import Any

from worker.providers.matching import Candidate, SearchBudget, Verdict, parse_time
from worker.providers.moderately.params import (
    AGENT,
    EXECUTION_PAGE_SIZE,
    EXECUTION_PATHS,
    PIPELINE,
    carries_job_id,
    create_request,
    marked_job_id,
)
from worker.providers.moderately.records import (
    CONFIG_KEYS,
    ID_KEYS,
    SUMMARY_KEYS,
    execution_verdict,
    has_next_page,
    listed_executions,
)
from worker.providers.paging import reread
from worker.providers.payload_search import PayloadSearch
from worker.providers.types import JobSpec

# The documented list filter by configuration version, and the documented order (agents: none).
_LIST_FILTERS = {AGENT: "agentConfigurationVersionIds", PIPELINE: "pipelineConfigurationVersionIds"}
_NEWEST_FIRST = {PIPELINE: {"orderBy": "createdAt", "orderDirection": "desc"}}
# A shared walk's page size: the largest each list documents (pipelines 1-1000, agents 1-100).
WALK_PAGE_SIZES = {AGENT: EXECUTION_PAGE_SIZE, PIPELINE: 1000}


class ModeratelySearch(PayloadSearch):
    """The find hooks of :class:`~.provider.ModeratelyProvider`, over its ``_json``."""

    @abstractmethod
    def _json(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
              **kwargs: Any) -> Any:
        """A JSON call scoped by ``teamIds`` (the provider's)."""

    def sent_payload(self, job: JobSpec) -> dict[str, Any]:
        """The create body (the params checked, the summary marked with our job id)."""
        return create_request(job)[1]

    def recent_jobs(
        self, job: JobSpec, sent: Any, since: float, budget: SearchBudget
    ) -> Iterator[Candidate]:
        """The executions of the job's configuration version since ``since``."""
        return self._recent(job.kind, sent[CONFIG_KEYS[job.kind]], since, budget)

    def payload_verdict(
        self, job: JobSpec, sent: Any, candidate: Candidate, budget: SearchBudget
    ) -> Verdict:
        """Our marker in its summary decides; else every sent field echoing back equal."""
        return execution_verdict(job.kind, candidate.record, sent, job.job_id)

    def find_scope(self, job: JobSpec, sent: Any) -> str | None:
        """The job's configuration version's list, when the summary names our job."""
        if not carries_job_id(sent[SUMMARY_KEYS[job.kind]], job.job_id):
            return None
        return f"{job.kind}:{sent[CONFIG_KEYS[job.kind]]}"

    def scope_jobs(self, scope: str, since: float, budget: SearchBudget) -> Iterator[Candidate]:
        """The executions of one configuration version since ``since``, in the largest
        pages the list documents."""
        kind, config_id = scope.split(":", 1)
        return self._recent(kind, config_id, since, budget, WALK_PAGE_SIZES[kind])

    def row_marker(self, scope: str, candidate: Candidate, budget: SearchBudget) -> str | None:
        """The job id in the execution's summary (no request: the list row has it)."""
        kind, config_id = scope.split(":", 1)
        if candidate.record.get(CONFIG_KEYS[kind]) != config_id:
            return None
        return marked_job_id(candidate.record.get(SUMMARY_KEYS[kind]))

    def _recent(
        self, kind: str, config_id: str, since: float, budget: SearchBudget,
        page_size: int | None = None,
    ) -> Iterator[Candidate]:
        """Each execution of ``config_id`` created since ``since``, once.

        A row without a readable ``createdAt`` is kept (it cannot be ruled out) and sorts
        last. Pipelines come newest first, so reading stops at the first page that ends
        before ``since``; agents come in no documented order and are read to the end.
        """
        query = {_LIST_FILTERS[kind]: config_id, **_NEWEST_FIRST.get(kind, {})}
        seen: set[str] = set()
        page_size = page_size or EXECUTION_PAGE_SIZE
        for page in count(1):
            budget.page()
            params = {**query, "page": page, "pageSize": page_size}
            answer, rows = reread(partial(self._rows, kind, params))
            times = [parse_time(row.get("createdAt")) for row in rows]
            for row, created in zip(rows, times):
                remote_id = row[ID_KEYS[kind]]
                if remote_id not in seen and (created is None or created >= since):
                    seen.add(remote_id)
                    yield Candidate(remote_id, math.inf if created is None else created, row)
            last = times[-1] if times else None
            past_window = kind in _NEWEST_FIRST and last is not None and last < since
            if not rows or past_window or not has_next_page(answer, len(rows), page_size):
                return

    def _rows(self, kind: str, params: Mapping[str, Any]) -> tuple[Any, list[Mapping[str, Any]]]:
        """One execution list page and its rows (``BadResponse`` when unreadable)."""
        answer = self._json("GET", EXECUTION_PATHS[kind], params=params)
        return answer, listed_executions(kind, answer)
