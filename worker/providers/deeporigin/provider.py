"""Deep Origin tool executions: the HTTP calls (wire protocol: ``deeporigin.md``).

A job of kind ``tool`` runs one Deep Origin tool. Each execution is tagged with our job id
as its ``session``, so :meth:`DeepOriginProvider.find` recovers it after a lost create. With
a price ceiling the create only asks for a quote (``approveAmount: -1``); the quote is
confirmed when within the ceiling and otherwise left unconfirmed with ``OverBudget`` raised.

Job params: ``{"tool": key, "version": "latest", "inputs": {...}, "name"?, "metadata"?,
"cluster_id"?}``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from worker.errors import AuthError, OverBudget, PermanentError
from worker.providers.base import Provider, setting
from worker.providers.deeporigin import SPEC
from worker.providers.deeporigin.params import build_create_body, tool_params
from worker.providers.deeporigin.records import (
    FIND_PAGE_SIZE,
    LIST_PAGE_SIZE,
    NAME,
    PLATFORM,
    V2_ACCEPT,
    bad,
    iso_ms,
    normalise_key,
    output_file_keys,
    output_file_name,
    quoted_price,
    reject,
    remote_status,
    running_row,
    safe_name,
    tagged,
    upload_dir,
)
from worker.providers.deeporigin.settings import DeepOriginSettings
from worker.providers.http import HttpClient
from worker.providers.http_errors import parse_json
from worker.providers.paging import CreationWindow, listed, numbered
from worker.providers.types import (
    JobSpec,
    Listed,
    Outputs,
    RemoteState,
    RemoteStatus,
    Submission,
    Watched,
)


class DeepOriginProvider(Provider):
    """Deep Origin's tools service: create (or quote and confirm), poll, cancel, fetch files."""

    spec = SPEC

    def __init__(
        self,
        settings: DeepOriginSettings,
        http: HttpClient,
        *,
        redis: Any = None,  # handed to every provider; not needed here
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._org = quote(setting(settings.org_key, "DO_ORG_KEY", PLATFORM), safe="")
        self._project = setting(settings.project_id, "DO_PROJECT_ID", PLATFORM)
        self._cluster: str | None = None  # the default cluster, asked for once per instance
        self._http = http
        self._window = CreationWindow()  # where sweeps' creation-time filter opens

    def submit(self, job: JobSpec) -> Submission:
        """Creates the execution in one attempt; a lost create is recovered by :meth:`find`."""
        params = tool_params(job)
        body = build_create_body(job, self._project, params.cluster_id or self._default_cluster())
        path = f"/tools/{self._org}/tools/{params.tool}/{params.version}/executions"
        return self._settle(job, self._http.json("POST", path, json=body, idempotent=False))

    def find(
        self, job: JobSpec, taken: Callable[[str], bool] = lambda _: False
    ) -> Submission | None:
        """The execution tagged with our job id (a quoted one continues as in submit), or None.

        The tag is ours alone, so ``taken`` is never needed here."""
        rows = self.list_executions({"session": job.job_id}, page_size=FIND_PAGE_SIZE)
        # Checked here too: a server that ignored the filter must not hand us a stranger's job.
        mine = next((row for row in rows if tagged(row, job.job_id)), None)
        return self._settle(job, mine) if mine is not None else None

    def list_executions(
        self, where: Mapping[str, Any], *, page_size: int = LIST_PAGE_SIZE,
        order: str = "createdAt desc",
    ) -> Iterator[Mapping[str, Any]]:
        """Every execution matching ``where`` (the platform's filter grammar), page by page."""
        for rows in self._pages(where, page_size, order):
            yield from rows

    def sweep(self, watched: Sequence[Watched]) -> Iterator[list[Listed]]:
        """Our project's executions created since the oldest watched job, oldest first
        (the window opens a little before it: see :class:`CreationWindow`).

        One request covers up to 1,000 executions (``LIST_PAGE_SIZE``), whatever their
        status: the official client's list (filter on ``projectId`` and ``createdAt.$gt``)
        carries every row's status, so running and ended jobs are both seen. Oldest first,
        so executions created during the walk land on later pages, not shifting earlier ones.
        Rows of executions not watched are skipped unread; a watched one still running is
        noted without its record (``running_row``); only ended or malformed rows are read
        in full.
        """
        where = {"projectId": self._project,
                 "createdAt": {"$gt": iso_ms(self._window.opens(watched))}}
        wanted = {job.remote_id: job.since for job in watched}
        for rows in self._pages(where, LIST_PAGE_SIZE, "createdAt asc"):
            self._window.learn(rows, wanted, "executionId", "createdAt")
            yield listed(rows, "executionId", remote_status, wanted=wanted, running=running_row)

    def _pages(
        self, where: Mapping[str, Any], page_size: int, order: str
    ) -> Iterator[list[Mapping[str, Any]]]:
        """The execution list's pages: 0-based, ``count`` the total across pages; a walk
        stops at a short page or once ``count`` rows were read, as the official client does."""
        query = {"filter": json.dumps(dict(where)), "pageSize": page_size, "order": order}

        def fetch(page: int) -> tuple[list[Mapping[str, Any]], int | None]:
            answer = self._http.json("GET", f"/tools/{self._org}/tools/executions",
                                     params={**query, "page": page})
            rows = answer.get("data") if isinstance(answer, Mapping) else None
            if not isinstance(rows, list):
                raise bad("execution list without a data array", answer)
            total = answer.get("count")
            return rows, total if isinstance(total, int) else None

        return numbered(fetch, page_size)

    def status_record(self, remote_id: str, kind: str) -> Any:
        """One execution as the v2 DTO."""
        return self._http.json(
            "GET", self._execution_path(remote_id), headers={"Accept": V2_ACCEPT}
        )

    def read_status(self, kind: str, record: Any) -> RemoteStatus:
        return remote_status(record)

    def record_id(self, kind: str, record: Any) -> Any:
        return record["executionId"]

    def cancel(self, remote_id: str, kind: str) -> None:
        """Cancels a pending or running execution; a terminal or quoted one is left alone.

        Checks first, as the official client does, and tolerates a refusal if the execution
        finished between the check and the cancel.
        """
        if self._settled(remote_id, kind):
            return
        try:
            self._http.request(
                "PATCH", f"{self._execution_path(remote_id)}:cancel", idempotent=True
            )
        except PermanentError as exc:
            if isinstance(exc, AuthError) or not self._settled(remote_id, kind):
                raise

    def fetch_outputs(self, remote_id: str, kind: str, status: RemoteStatus) -> Outputs:
        """``jobOutputs`` plus execution id, tool and cost; every output file downloaded, by
        the last part of its key (the full key stays in ``jobOutputs``)."""
        record = status.record
        if record.get("jobOutputs") is None:
            record = self.status(remote_id, kind).record
        outputs = record.get("jobOutputs") or {}
        files: dict[str, bytes] = {}
        for key in output_file_keys(outputs):
            name = output_file_name(key)
            if name in files:
                raise bad(f"two output files named {name!r}", outputs)
            files[name] = self.download_file(key)
        data = dict(outputs) if isinstance(outputs, Mapping) else {"jobOutputs": outputs}
        data.update(executionId=remote_id, tool=record.get("tool"))
        cost = quoted_price(record)
        if cost is not None:
            data["cost"] = cost
        return Outputs(data=data, files=files)

    def download_file(self, key: str) -> bytes:
        """A file's bytes in one request: the files service's direct download with our token
        (the official client's ``direct=True``), not a signed URL and then the file."""
        return self._http.request("GET", f"/files/{self._org}/{quote(normalise_key(key))}").content

    def upload_file(self, key: str, data: bytes) -> str:
        """Stores ``data`` under ``key`` through a signed upload URL; returns the stored key."""
        key = normalise_key(key)
        self._http.upload(self._signed_url(key, upload=True), data)
        return key

    def file_exists(self, key: str) -> bool:
        """Whether the platform holds a file under ``key`` (HEAD; 404 means no)."""
        try:
            self._http.request("HEAD", f"/files/{self._org}/{quote(normalise_key(key))}")
        except PermanentError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def find_upload(self, sha256: str, name: str) -> str | None:
        """Uploads live under a folder named by their hash: any file in it has these bytes."""
        answer = self._http.json("GET", f"/files/{self._org}/directory/{upload_dir(sha256)}",
                                 params={"recursive": "true", "max-keys": 1})
        rows = answer.get("data") if isinstance(answer, Mapping) else None
        if not isinstance(rows, list):
            raise bad("file listing without a data list", answer)
        keys = [row.get("Key") for row in rows if isinstance(row, Mapping)]
        return next((k for k in keys if isinstance(k, str)), None)

    def upload(
        self, name: str, data: bytes, sha256: str, *, job_id: str = "",
        fence: Callable[[], None] = lambda: None,
    ) -> str:
        """Stores the bytes at ``jobfleet/uploads/<sha256>/<name>``; the key is the file id.

        The key follows from the bytes, so a second upload rewrites the same file; the
        fence is still held before the one PUT."""
        fence()
        return self.upload_file(f"{upload_dir(sha256)}/{safe_name(name)}", data)

    def close(self) -> None:
        """Releases the HTTP session if this provider made it."""
        self._http.close()

    def _default_cluster(self) -> str:
        """``data[0].id`` of the org's clusters, asked once per instance (a race only re-asks)."""
        if self._cluster is None:
            answer = self._http.json("GET", f"/tools/{self._org}/clusters")
            rows = answer.get("data") if isinstance(answer, Mapping) else None
            first = rows[0] if isinstance(rows, list) and rows else None
            if not (isinstance(first, Mapping) and isinstance(first.get("id"), str)):
                raise bad("cluster list without data[0].id", answer)
            self._cluster = first["id"]
        return self._cluster

    def _settle(self, job: JobSpec, record: Any) -> Submission:
        """A create (or found) record as a Submission, confirming a quote within the ceiling."""
        status = self._accepted(remote_status(record))
        remote_id = record["executionId"]
        if status.state is RemoteState.QUOTED:
            status = self._confirm_within_ceiling(job, remote_id, record)
        return Submission(remote_id=remote_id, status=status)

    def _confirm_within_ceiling(
        self, job: JobSpec, remote_id: str, record: Mapping[str, Any]
    ) -> RemoteStatus:
        """Confirms the quote if its price is within ``max_price``; else raises, unconfirmed."""
        price = quoted_price(record)
        if price is None:  # list rows may come without the quotation: ask for the full record
            record = self.status(remote_id, job.kind).record
            price = quoted_price(record)
        if price is None:
            raise bad("quoted execution without a readable quotationResult", record)
        if job.max_price is None:
            reject(f"execution {remote_id} was quoted {price:g}; the job has no max_price")
        if price > job.max_price:
            raise OverBudget(provider=NAME, remote_id=remote_id, price=price, ceiling=job.max_price)
        path = f"{self._execution_path(remote_id)}:confirm"
        response = self._http.request(
            "PATCH", path, headers={"Accept": "application/json"}, idempotent=False
        )
        if not response.content.strip():  # the official client falls back to a GET, so do we
            return self._accepted(self.status(remote_id, job.kind))
        return self._accepted(remote_status(parse_json(NAME, response)))

    def _accepted(self, status: RemoteStatus) -> RemoteStatus:
        """A create or confirm answered 200 ``InsufficientFunds``: the platform refused to bill."""
        if status.raw == "InsufficientFunds":
            reject(f"insufficient funds: {status.detail or 'no reason given'}")
        return status

    def _settled(self, remote_id: str, kind: str) -> bool:
        """Nothing left to cancel: terminal, or a quote that never started."""
        state = self.status(remote_id, kind).state
        return state.terminal or state is RemoteState.QUOTED

    def _execution_path(self, remote_id: str) -> str:
        return f"/tools/{self._org}/tools/executions/{quote(remote_id, safe='')}"

    def _signed_url(self, key: str, *, upload: bool) -> str:
        """Asks the files service to sign ``key`` for an upload (or a download)."""
        params = {"upload": "true"} if upload else None
        answer = self._http.json("GET", f"/files/{self._org}/signedUrl/{quote(key)}", params=params)
        url = answer.get("url") if isinstance(answer, Mapping) else None
        if not isinstance(url, str):
            raise bad("signed-URL answer without a url", answer)
        return url
