"""The declarative provider: one class that speaks any POST-then-poll API from its spec.

Everything platform-specific comes from an :class:`~.spec.ApiSpec` (a spec file); this
module only fills request templates, reads answers along the spec's paths and maps status
values to :class:`RemoteState`. The shared flows stay where they are for every platform:
the HTTP client (retries, error mapping, the fleet-wide throttle), the submit step's
at-most-once rule and the job store's leases.

At-most-once creation, per ``create.at_most_once``:

* ``idempotency-key``: our job id travels in the spec's header; the API answers a repeated
  create with the job it already made, so the create may be retried like a GET, and a
  create whose answer was lost is settled by ``[find]`` if the spec has one, else by sending
  the same create again.
* ``tag``: the body carries our job id; a lost create is looked up with ``[find]``.
* ``none``: the create is sent once; a lost answer fails the job as ``submit_unknown``.

The credential is read once, put into the client's headers and never into a message.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from config.declarative import SpecSettings
from worker.errors import AuthError, BadResponse, PermanentError
from worker.providers.base import Provider, bad_answer, setting, url_setting
from worker.providers.declarative.listing import pages
from worker.providers.declarative.spec import ApiSpec, Request
from worker.providers.declarative.templates import Missing, read_path, render
from worker.providers.http import HttpClient
from worker.providers.matching import SearchBudget
from worker.providers.spec import PlatformSpec
from worker.providers.types import JobSpec, Outputs, RemoteState, RemoteStatus, Submission

if TYPE_CHECKING:  # the status sweep's types (worker.sweep)
    from worker.providers.types import Listed, Watched

log = logging.getLogger("jobfleet.declarative")
MAX_LIST_PAGES = 50  # cursor pages one listing may follow: a loop in the API's cursors ends


def endpoint(api: ApiSpec, settings: SpecSettings) -> tuple[str, dict[str, str]]:
    """The base URL and the credential header of ``api``; ``ConfigError`` naming the
    variable (never its value) when one is missing."""
    platform = f"{api.name} (spec {api.file.name})"
    secret = setting(settings.secret, api.auth_env, platform)
    base_url = url_setting(settings.base_url, api.base_url_env, platform)
    return base_url, {api.auth_header: api.auth_format.replace("{secret}", secret)}


class DeclarativeProvider(Provider):
    """A platform described by a spec file instead of a module."""

    def __init__(self, api: ApiSpec, http: HttpClient, *, platform: PlatformSpec,
                 clock: Callable[[], float] = time.time, **_resources: Any) -> None:
        """``platform`` is the spec the registry holds for ``api`` (name, kinds, what it can
        do); ``http`` the client the runtime opened from :func:`endpoint`, the credential in
        its headers. Other shared resources (``redis``) are not needed here."""
        self.spec = platform
        self.api = api
        self._http = http
        self._clock = clock

    def submit(self, job: JobSpec) -> Submission:
        """Sends the create; retried like a GET only when an idempotency key guards it."""
        create = self.api.create
        headers = {create.idempotency_header: job.job_id} if create.idempotency_header else None
        answer = self._call(create.request, self._values(job), headers=headers,
                            idempotent=create.at_most_once == "idempotency-key")
        remote_id = self._id(answer, create.id, "create answer")
        if create.state is None:
            return Submission(remote_id, RemoteStatus(RemoteState.PENDING, raw="created",
                                                      record=answer))
        return Submission(remote_id, self._status(answer, create.state, None, "create answer"))

    def find(
        self, job: JobSpec, taken: Callable[[str], bool] = lambda _: False
    ) -> Submission | None:
        """The remote job a lost create made for ``job``, or None (see the module docstring).

        With ``[find]``: the listed job whose tag is our job id (checked here too, in case
        the API ignored the filter). Without it, an idempotency key settles the question by
        sending the same create again: the API answers with the job it made, or makes it once.
        """
        spec = self.api
        if spec.find is None:
            return self.submit(job) if spec.create.at_most_once == "idempotency-key" else None
        query = render(spec.find.query, self._values(job))
        budget = SearchBudget(self.name, self._clock)
        for row in self._rows(query, budget):
            found, tag = read_path(row, spec.find.tag)
            remote_id = self._id(row, spec.listing.id, "listed job")
            if found and tag == job.job_id and not taken(remote_id):
                return Submission(remote_id, self._row_status(row))
        return None

    def status(self, remote_id: str, kind: str) -> RemoteStatus:
        """One job's status from the status answer; the whole answer is kept as the record."""
        status = self.api.status
        answer = self._call(status.request, {"remote_id": remote_id, "kind": kind})
        if status.id is not None and self._id(answer, status.id, "status answer") != remote_id:
            raise bad_answer(self.name, f"asked for {remote_id}, got another job", answer)
        found = self._status(answer, status.state, status.detail, "status answer")
        return dataclasses.replace(found, poll_hint=self._poll_hint(answer))

    def bulk_status(self, jobs: Sequence[tuple[str, str]]) -> dict[str, RemoteStatus | Exception]:
        """With a ``[list]`` that filters by ids: ``max_ids`` jobs per request; else one by
        one. A job the listing leaves out is asked for alone."""
        listing = self.api.listing
        if listing is None or listing.ids_param is None:
            return super().bulk_status(jobs)
        out: dict[str, RemoteStatus | Exception] = {}
        ids = list(dict.fromkeys(remote_id for remote_id, _ in jobs))
        for start in range(0, len(ids), listing.max_ids):
            chunk = ids[start:start + listing.max_ids]
            try:
                out.update(self.list_statuses({listing.ids_param: ",".join(chunk)}))
            except Exception as exc:  # noqa: BLE001 - handed back per job, as the base does
                out.update((remote_id, exc) for remote_id in chunk)
        kinds = dict(jobs)
        missing = [(remote_id, kinds[remote_id]) for remote_id in ids if remote_id not in out]
        out.update(super().bulk_status(missing))
        return {remote_id: out[remote_id] for remote_id in ids}

    def list_statuses(self, query: Mapping[str, Any]) -> dict[str, RemoteStatus]:
        """Every listed job matching ``query`` (added to the spec's own), by remote id."""
        budget = SearchBudget(self.name, self._clock, pages=MAX_LIST_PAGES, seconds=math.inf)
        rows = self._rows(query, budget)
        return {self._id(row, self.api.listing.id, "listed job"): self._row_status(row)
                for row in rows}

    def sweep(self, watched: Sequence[Watched]) -> Iterator[list[Listed]]:
        """The watched jobs looked up by id, ``max_ids`` per request, one page at a time.

        A row whose status cannot be read is left out (its own poll reports the problem).
        """
        listing = self.api.listing
        ids = sorted({job.remote_id for job in watched})
        budget = SearchBudget(self.name, self._clock, pages=MAX_LIST_PAGES, seconds=math.inf)
        for start in range(0, len(ids), listing.max_ids):
            query = {listing.ids_param: ",".join(ids[start:start + listing.max_ids])}
            for rows in pages(self._http, listing, query, budget):
                yield list(self._readable(rows))

    def cancel(self, remote_id: str, kind: str) -> None:
        """Sends the spec's cancel; a refusal for a job already ended is not an error."""
        if self.api.cancel is None:
            super().cancel(remote_id, kind)
        try:
            self._http.request(**self._prepared(self.api.cancel, {"remote_id": remote_id,
                                                                   "kind": kind}),
                               idempotent=True)
        except PermanentError as exc:
            if isinstance(exc, AuthError) or not self.status(remote_id, kind).state.terminal:
                raise

    def fetch_outputs(self, remote_id: str, kind: str, status: RemoteStatus) -> Outputs:
        """The result's data (``result.data``) and its files (``result.files``), downloaded."""
        result = self.api.result
        if result.request is not None:
            answer = self._call(result.request, {"remote_id": remote_id, "kind": kind})
        else:
            answer = status.record or self.status(remote_id, kind).record
        data: Any = answer
        if result.data is not None:
            found, data = read_path(answer, result.data)
            if not found:
                raise bad_answer(self.name, f"result answer without {result.data}", answer)
        data = dict(data) if isinstance(data, Mapping) else {"result": data}
        files = dict(self._files(answer)) if result.files is not None else {}
        return Outputs(data={**data, "remote_id": remote_id}, files=files)

    def close(self) -> None:
        """Releases the HTTP session if this provider made it."""
        self._http.close()

    def _files(self, answer: Any) -> Iterator[tuple[str, bytes]]:
        result = self.api.result
        found, listed = read_path(answer, result.files)
        if found and listed is None:
            return
        if not isinstance(listed, list):
            raise bad_answer(self.name, f"result answer without a list at {result.files}", answer)
        for entry in listed:
            name = read_path(entry, result.file_name)[1]
            url = read_path(entry, result.file_url)[1]
            if not isinstance(name, str) or not name or not isinstance(url, str) or not url:
                raise bad_answer(self.name, f"result file without {result.file_name} and "
                                 f"{result.file_url}", entry)
            yield name, self._download(url)  # the result store's one name check judges it

    def _download(self, url: str) -> bytes:
        """An absolute URL is presigned (no credential sent); a path is under the base URL."""
        if urlsplit(url).scheme in ("http", "https"):
            return self._http.download(url)
        return self._http.request("GET", url).content

    def _rows(self, query: Mapping[str, Any], budget: SearchBudget) -> Iterator[Any]:
        """The listed jobs, every page's rows in turn."""
        for rows in pages(self._http, self.api.listing, query, budget):
            yield from rows

    def _readable(self, rows: list[Any]) -> Iterator[Listed]:
        for row in rows:
            try:
                yield self._id(row, self.api.listing.id, "listed job"), self._row_status(row)
            except BadResponse as exc:
                log.info("listed row left to its own poll: %s", exc)

    def _poll_hint(self, answer: Any) -> float | None:
        """Seconds the status answer suggests waiting, if the spec says where; else None."""
        status = self.api.status
        value = read_path(answer, status.poll_hint)[1] if status.poll_hint else None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            return None
        return value / 1000 if status.poll_hint_unit == "ms" else float(value)

    def _row_status(self, row: Any) -> RemoteStatus:
        listing = self.api.listing
        return self._status(row, listing.state, listing.detail, "listed job")

    def _status(self, answer: Any, state_path: str, detail_path: str | None,
                what: str) -> RemoteStatus:
        """The status at ``state_path`` mapped by ``[states]``; unknown values are bad answers."""
        found, raw = read_path(answer, state_path)
        if not found or not isinstance(raw, str):
            raise bad_answer(self.name, f"{what} without a status at {state_path}", answer)
        if raw not in self.api.states:
            raise bad_answer(self.name, f"unknown status {raw!r} in the {what}", answer)
        state = self.api.states[raw]
        detail = read_path(answer, detail_path)[1] if detail_path else None
        shown = None if detail is None or state is RemoteState.SUCCEEDED else str(detail)
        record = answer if isinstance(answer, Mapping) else {}
        return RemoteStatus(state=state, raw=raw, detail=shown, record=record)

    def _id(self, answer: Any, path: str, what: str) -> str:
        found, value = read_path(answer, path)
        if isinstance(value, bool) or not isinstance(value, (str, int)) or value == "":
            raise bad_answer(self.name, f"{what} without an id at {path}", answer)
        return str(value)

    def _values(self, job: JobSpec) -> dict[str, Any]:
        return {"job_id": job.job_id, "kind": job.kind, "params": dict(job.params)}

    def _prepared(self, request: Request, values: Mapping[str, Any]) -> dict[str, Any]:
        """Method, path (placeholders URL-quoted), query and body for one request."""
        try:
            scalars = {k: quote(str(v), safe="") for k, v in values.items() if k != "params"}
            path = render(request.path, {**values, **scalars})
            query = render(request.query, values)
            body = render(request.body, values) if request.body is not None else None
        except Missing as exc:
            raise PermanentError(f"the job has no value for {{{exc.args[0]}}} "
                                 f"(spec {self.api.file.name})", provider=self.name) from exc
        return {"method": request.method, "path": path, "params": query or None, "json": body}

    def _call(self, request: Request, values: Mapping[str, Any], **kwargs: Any) -> Any:
        return self._http.json(**self._prepared(request, values), **kwargs)
