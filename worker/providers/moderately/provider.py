"""Moderately AI agent and pipeline executions, and its files API.

Wire protocol: as the official ``moderatelyai-sdk`` speaks it, and the server's OpenAPI document.
Job params are the API's own create fields (see :mod:`worker.providers.moderately.params`);
the platform's status strings and answers are read by :mod:`.records`.

Every request carries ``?teamIds=<MODERATELY_TEAM_ID>`` (the platform scopes everything by
it) and ``Authorization: Bearer <MODERATELY_API_KEY>``, except presigned storage URLs, whose
signature is their credential.

The platform has no idempotency key and no tag or metadata field on executions, so creates
are sent once (never retried after a timeout or 5xx, which the request may have survived)
and a create whose answer was lost is found again by its input summary, or its payload
(:mod:`.search`).

Files, by contrast, are found by SHA-256 (``fileHashes``), so an upload is never repeated
(:mod:`.files`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import partial
from typing import Any
from urllib.parse import quote

import requests

from worker.credentials import fingerprint
from worker.errors import AuthError, PermanentError
from worker.providers.base import setting
from worker.providers.http import HttpClient
from worker.providers.moderately import SPEC
from worker.providers.moderately.files import ModeratelyFiles
from worker.providers.moderately.params import (
    AGENT,
    EXECUTION_PAGE_SIZE,
    EXECUTION_PATHS,
    NAME,
    PIPELINE,
    PLATFORM,
    create_request,
)
from worker.providers.moderately.records import (
    ID_KEYS,
    bad,
    has_next_page,
    listed_executions,
    remote_status,
    s3_output,
)
from worker.providers.moderately.search import ModeratelySearch
from worker.providers.moderately.settings import ModeratelySettings
from worker.providers.paging import flagged, listed
from worker.providers.shared_find import SharedFind
from worker.providers.types import JobSpec, Listed, Outputs, RemoteStatus, Submission, Watched

CANCEL_REASON = "cancelled by jobfleet"
_ID_FILTERS = {AGENT: "agentExecutionIds", PIPELINE: "pipelineExecutionIds"}  # sweeps' filters


class ModeratelyProvider(ModeratelyFiles, ModeratelySearch):
    """Agent and pipeline executions: create, poll, cancel, fetch outputs; file uploads."""

    spec = SPEC  # finds by our job id in the summary, else by payload (module docstring)

    def __init__(
        self,
        settings: ModeratelySettings,
        http: HttpClient,
        *,
        redis: Any = None,  # the fleet's: lost creates are then searched for together
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.clock = clock
        self._team = setting(settings.team_id, "MODERATELY_TEAM_ID", PLATFORM)
        self._http = http
        if redis is not None:
            self.shared = SharedFind(redis, fingerprint(NAME, settings), NAME, clock)

    def submit(self, job: JobSpec) -> Submission:
        """Creates the execution in one attempt; the params are checked before any request."""
        path, body = create_request(job)
        record = self._json("POST", path, json=body, idempotent=False)
        status = remote_status(job.kind, record)
        return Submission(remote_id=record[ID_KEYS[job.kind]], status=status)

    def status_record(self, remote_id: str, kind: str) -> Any:
        """One agent or pipeline execution."""
        return self._json("GET", self._path(kind, remote_id))

    def read_status(self, kind: str, record: Any) -> RemoteStatus:
        return remote_status(kind, record)

    def record_id(self, kind: str, record: Any) -> Any:
        return record[ID_KEYS[kind]]

    def sweep(self, watched: Sequence[Watched]) -> Iterator[list[Listed]]:
        """Our executions looked up by id, ``EXECUTION_PAGE_SIZE`` ids per request.

        Uses the lists' id filters (``agentExecutionIds``, ``pipelineExecutionIds``, comma
        lists in the OpenAPI document) without a status filter, so every row's status is
        read: one request covers up to 100 jobs, running or ended.
        """
        for kind in (AGENT, PIPELINE):
            ids = sorted(job.remote_id for job in watched if job.kind == kind)
            for start in range(0, len(ids), EXECUTION_PAGE_SIZE):
                for rows in self._by_ids(kind, ids[start : start + EXECUTION_PAGE_SIZE]):
                    yield listed(rows, ID_KEYS[kind], partial(remote_status, kind))

    def _by_ids(self, kind: str, ids: Sequence[str]) -> Iterator[Sequence[Mapping[str, Any]]]:
        """The pages of one id-filtered execution list (one page unless the server pages)."""
        query = {_ID_FILTERS[kind]: ",".join(ids), "pageSize": EXECUTION_PAGE_SIZE}

        def fetch(page: int) -> tuple[list[Mapping[str, Any]], bool]:
            answer = self._json("GET", EXECUTION_PATHS[kind], params={**query, "page": page})
            rows = listed_executions(kind, answer)
            return rows, has_next_page(answer, len(rows), EXECUTION_PAGE_SIZE)

        return flagged(fetch)

    def cancel(self, remote_id: str, kind: str) -> None:
        """Cancels the execution (a pipeline with our reason); a terminal one is left alone.

        The platform refuses to cancel a finished execution (409 or 400), so a refusal is
        checked against the current status rather than asked about beforehand.
        """
        body = {"reason": CANCEL_REASON} if kind == PIPELINE else None
        try:
            self._request("POST", f"{self._path(kind, remote_id)}/cancel", json=body)
        except PermanentError as exc:
            if isinstance(exc, AuthError) or not self.status(remote_id, kind).state.terminal:
                raise

    def fetch_outputs(self, remote_id: str, kind: str, status: RemoteStatus) -> Outputs:
        """An agent's output from its record; a pipeline's from ``/output`` (inline or S3)."""
        if kind == AGENT:
            record = status.record
            if "agentOutput" not in record:  # a bare status (from the job store): ask again
                record = self.status(remote_id, kind).record
            data = {key: record.get(key) for key in ("agentOutput", "agentOutputSummary")}
            return Outputs(data={"agentExecutionId": remote_id, **data})
        return self._pipeline_outputs(remote_id)

    def close(self) -> None:
        """Releases the HTTP session if this provider made it."""
        self._http.close()

    def _pipeline_outputs(self, remote_id: str) -> Outputs:
        """``/output`` inline into ``data``; an S3 output downloaded into ``files``."""
        try:
            answer = self._json("GET", f"{self._path(PIPELINE, remote_id)}/output")
        except PermanentError as exc:
            if exc.status != 404 or isinstance(exc, AuthError):
                raise
            return self._outputs_from_record(remote_id)  # completed without an output
        if not isinstance(answer, Mapping) or answer.get("type") not in ("inline", "s3"):
            raise bad("pipeline output that is neither inline nor s3", answer)
        data: dict[str, Any] = {"pipelineExecutionId": remote_id}
        if answer["type"] == "inline":
            summary = answer.get("summary")
            return Outputs(data={**data, "pipelineOutput": answer.get("data"),
                                 "pipelineOutputSummary": summary})
        url = answer.get("downloadUrl")
        if not isinstance(url, str):
            raise bad("s3 pipeline output without a downloadUrl", answer)
        name, content = s3_output(answer, self._http.download(url))
        metadata = answer.get("metadata") or {}
        data.update(pipelineOutput=None, pipelineOutputFile=name, outputMetadata=metadata)
        data["pipelineOutputSummary"] = metadata.get("outputSummary")
        return Outputs(data=data, files={name: content})

    def _outputs_from_record(self, remote_id: str) -> Outputs:
        record = self.status(remote_id, PIPELINE).record
        if record.get("status") != "completed":
            raise bad("output asked for a pipeline execution that is not completed", record)
        data = {key: record.get(key) for key in ("pipelineOutput", "pipelineOutputSummary")}
        return Outputs(data={"pipelineExecutionId": remote_id, **data})

    def _params(self, params: Mapping[str, Any] | None) -> dict[str, Any]:
        return {"teamIds": self._team, **(params or {})}

    def _json(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
              **kwargs: Any) -> Any:
        """A JSON call with ``teamIds`` added, as the platform wants on every request."""
        return self._http.json(method, path, params=self._params(params), **kwargs)

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """A call whose answer we do not read; repeating it is refused, never duplicated."""
        return self._http.request(method, path, params=self._params(None), idempotent=True,
                                  **kwargs)

    def _path(self, kind: str, remote_id: str) -> str:
        if kind not in EXECUTION_PATHS:
            raise PermanentError(f"unsupported job kind {kind!r}", provider=NAME)
        return f"{EXECUTION_PATHS[kind]}/{quote(remote_id, safe='')}"
