"""How a lost OpenProtein create is found again: by payload, the platform having no tag.

``GET v1/jobs?job_type=&more_recent_than=`` lists the kind's jobs created since the create
began minus a margin, paged with ``page_offset`` to an empty page; each candidate's inputs
are read back (``v1/align/inputs?msa_type=RAW``, or ``v1/embeddings/{type}/{id}/sequences``,
then ``v1/jobs/{id}/args``) and compared with ours (:mod:`.params`). An MSA whose seed we
named after the job is matched by that name in one shared walk per login
(:mod:`~worker.providers.shared_find`). The search rules themselves (oldest first, a job
another of ours tracks is skipped, an unreadable candidate makes the search inconclusive)
are :class:`~worker.providers.payload_search.PayloadSearch`'s.
"""

from __future__ import annotations

import logging
import math
from abc import abstractmethod
from collections.abc import Iterator, Mapping
from functools import partial
from typing import Any
from urllib.parse import quote

import requests

from worker.errors import AuthError, PermanentError, TransientError
from worker.providers.http_errors import parse_json
from worker.providers.matching import (
    Candidate,
    SearchBudget,
    Verdict,
    iso_utc,
    parse_time,
    worst,
)
from worker.providers.openprotein.params import EmbedParams, MsaParams
from worker.providers.openprotein.records import (
    JOB_TYPES,
    LIST_PAGE_SIZE,
    NAME,
    SEED_MARKER_PREFIX,
    bad,
    fasta_of,
    fasta_records,
    listed_jobs,
)
from worker.providers.paging import reread, to_empty
from worker.providers.payload_search import PayloadSearch
from worker.providers.shared_walk import UNSURE
from worker.providers.types import JobSpec

log = logging.getLogger(__name__)


class OpenProteinSearch(PayloadSearch):
    """The find hooks of :class:`~.provider.OpenProteinProvider`, over its ``_call``."""

    @abstractmethod
    def _call(self, method: str, path: str, *, json_answer: bool = True,
              **kwargs: Any) -> requests.Response:
        """One authenticated request (the provider's)."""

    def recent_jobs(
        self, job: JobSpec, sent: Any, since: float, budget: SearchBudget
    ) -> Iterator[Candidate]:
        """The jobs of every job type the kind may be listed under, since ``since``."""
        for job_type in JOB_TYPES[job.kind]:
            yield from self._recent(job_type, since, budget)

    def payload_verdict(
        self, job: JobSpec, sent: Any, candidate: Candidate, budget: SearchBudget
    ) -> Verdict:
        return self._verdict(sent, candidate, budget)

    def find_scope(self, job: JobSpec, sent: Any) -> str | None:
        """An MSA whose seed we named after the job: its job type's list."""
        if isinstance(sent, MsaParams) and sent.named_by_us:
            return JOB_TYPES[job.kind][0]
        return None

    def scope_jobs(self, scope: str, since: float, budget: SearchBudget) -> Iterator[Candidate]:
        return self._recent(scope, since, budget)

    def row_marker(self, scope: str, candidate: Candidate, budget: SearchBudget) -> str | None:
        """The job id in the seed's name, read back from the MSA's input (one request)."""
        budget.check_time()
        try:
            records = reread(lambda: self._msa_input(candidate.remote_id))
        except PermanentError as exc:
            if isinstance(exc, AuthError):
                raise
            log.warning("openprotein: input of job %s cannot be read back: %s",
                        candidate.remote_id, exc)
            return UNSURE
        name = records[0][0].strip() if records else ""
        job_id = name[len(SEED_MARKER_PREFIX):] if name.startswith(SEED_MARKER_PREFIX) else ""
        return job_id or None

    def _recent(self, job_type: str, since: float, budget: SearchBudget) -> Iterator[Candidate]:
        """Each of our jobs of ``job_type`` created since ``since``, once, in any order.

        The list's order is undocumented, so it is read to an empty page
        (:func:`~worker.providers.paging.to_empty`); a walk that cannot reach the end is
        transient (tried again later), never a conclusion.
        """
        query = {"job_type": job_type, "more_recent_than": iso_utc(since),
                 "page_size": LIST_PAGE_SIZE}

        def fetch(offset: int) -> list[Mapping[str, Any]]:
            budget.page()
            return reread(partial(self._jobs_page, {**query, "page_offset": offset}))

        def stalled(why: str) -> None:
            raise TransientError(f"job list walk did not reach its end: {why}", provider=NAME)

        for rows in to_empty(fetch, lambda row: row["job_id"], stalled):
            for row in rows:
                created = parse_time(row.get("created_date"))
                if row["job_type"] == job_type and (created is None or created >= since):
                    yield Candidate(row["job_id"], math.inf if created is None else created, row)

    def _jobs_page(self, params: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        """One ``v1/jobs`` page, every row a readable Job (``BadResponse`` otherwise)."""
        return listed_jobs(parse_json(NAME, self._call("GET", "v1/jobs", params=params)))

    def _verdict(self, params: MsaParams | EmbedParams, candidate: Candidate,
                 budget: SearchBudget) -> Verdict:
        """Reads a candidate's inputs back, then its args, and compares them with ours.

        A refusal to read them (a 404 for a job of another shape, say) leaves it unsure.
        """
        budget.check_time()
        try:
            if isinstance(params, MsaParams):
                verdict = params.inputs_verdict(self._msa_input(candidate.remote_id))
            else:
                verdict = params.inputs_verdict(self._embedded_sequences(candidate.record))
            if verdict is Verdict.DIFFERENT:
                return verdict
            return worst(verdict, params.args_verdict(self._args(candidate.remote_id)))
        except PermanentError as exc:
            if isinstance(exc, AuthError):
                raise
            log.warning("openprotein: inputs of job %s cannot be read back: %s",
                        candidate.remote_id, exc)
            return Verdict.UNSURE

    def _msa_input(self, remote_id: str) -> list[tuple[str, str]]:
        """An MSA job's input as uploaded (``msa_type=RAW``: CSV or FASTA)."""
        query = {"job_id": remote_id, "msa_type": "RAW"}
        return fasta_records(fasta_of(self._call("GET", "v1/align/inputs", params=query,
                                                 json_answer=False)))

    def _embedded_sequences(self, record: Mapping[str, Any]) -> list[str]:
        """An embedding job's sequences (``v1{job_type}/{id}/sequences``)."""
        return self._sequences(
            f"v1{record['job_type']}/{quote(record['job_id'], safe='')}/sequences")

    def _args(self, remote_id: str) -> Mapping[str, Any]:
        """The arguments a job was created with; an answer of another shape tells nothing."""
        answer = parse_json(NAME, self._call("GET", f"v1/jobs/{quote(remote_id, safe='')}/args"))
        return answer if isinstance(answer, Mapping) else {}

    def _sequences(self, path: str) -> list[str]:
        """A job's sequences, as ``path`` lists them (checked to be strings)."""
        sequences = parse_json(NAME, self._call("GET", path))
        if not (isinstance(sequences, list) and all(isinstance(s, str) for s in sequences)):
            raise bad("sequence list is not a list of strings", sequences)
        return sequences
