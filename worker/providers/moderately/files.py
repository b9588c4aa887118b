"""Moderately AI's files API: results uploaded as files, each at most once.

A file is found by its SHA-256 (``fileHashes``) before every upload, so bytes already held are
never sent again. An upload is three calls (upload-url, PUT to the presigned URL, complete),
each behind the caller's fence; the upload-url request names our job id in the file's
metadata, so a worker that takes a finalize over completes the file its predecessor began
instead of starting a second one.

:class:`ModeratelyFiles` is a part of :class:`~.provider.ModeratelyProvider`: it uses the
provider's ``_json`` / ``_request`` (every call scoped by ``teamIds``), ``_http`` (the
presigned PUT) and ``_team``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

from worker.errors import AuthError, BadResponse, PermanentError
from worker.providers.moderately.params import complete_request, upload_request
from worker.providers.moderately.records import bad, completed_file, file_id_of, matching_file

FIND_PAGE_SIZE = 100  # files with one hash are few; the API's largest page for files
UPLOAD_MARKER = "jobfleet_job_id"  # the upload's metadata key naming the job it is for


class ModeratelyFiles:
    """Finds and uploads files; mixed into the Moderately provider."""

    _team: str
    _http: Any
    _json: Callable[..., Any]
    _request: Callable[..., Any]

    def find_upload(self, sha256: str, name: str) -> str | None:
        """A completed file with these bytes (``fileHashes`` filter), same name preferred."""
        query = {
            "fileHashes": sha256.lower(),
            "uploadStatus": "completed",
            "pageSize": FIND_PAGE_SIZE,
            "orderBy": "createdAt",
            "orderDirection": "desc",
        }
        return matching_file(self._json("GET", "/files", params=query), sha256, name)

    def upload(
        self, name: str, data: bytes, sha256: str, *, job_id: str = "",
        fence: Callable[[], None] = lambda: None,
    ) -> str:
        """upload-url (marked with our job id), PUT the bytes (no auth), then complete.

        The fence is held before each of the three; a file an earlier attempt for this job
        left pending is completed (or, holding no bytes, deleted) instead of starting a
        second one, so two workers that both believe they hold the step make one file.
        """
        body = upload_request(name, data, sha256, self._team)
        for pending in self._pending_uploads(sha256, job_id):
            fence()
            if self._finish(pending, body):
                return pending
        fence()
        marked = {**body, "metadata": {UPLOAD_MARKER: job_id}} if job_id else body
        answer = self._json("POST", "/files/upload-url", json=marked, idempotent=False)
        file_id, url = file_id_of(answer)
        fence()
        self._http.upload(url, data, content_type=body["mimeType"])
        fence()  # the commit: only with the lease still ours
        self._finish(file_id, body, discard=False)
        return file_id

    def _pending_uploads(self, sha256: str, job_id: str) -> list[str]:
        """Pending files with these bytes that an earlier attempt for ``job_id`` began."""
        if not job_id:
            return []
        query = {"fileHashes": sha256.lower(), "uploadStatus": "pending",
                 "pageSize": FIND_PAGE_SIZE, "orderBy": "createdAt", "orderDirection": "asc"}
        answer = self._json("GET", "/files", params=query)
        items = answer.get("items") if isinstance(answer, Mapping) else None
        if not isinstance(items, list):
            raise bad("file list without an items array", answer)
        return [item["fileId"] for item in items
                if isinstance(item, Mapping) and isinstance(item.get("fileId"), str)
                and isinstance(item.get("metadata"), Mapping)
                and item["metadata"].get(UPLOAD_MARKER) == job_id]

    def _finish(self, file_id: str, body: Mapping[str, Any], *, discard: bool = True) -> bool:
        """Completes a pending file; True when it is complete with our bytes. One whose bytes
        never arrived is deleted when ``discard`` (a new upload follows), else an error.

        Only an answer that shows the file completed with our hash counts: a 2xx we cannot
        read (a proxy's page in place of the platform's 400) is checked against the file
        itself, so a file whose bytes never arrived is never taken for an upload."""
        path = f"/files/{quote(file_id, safe='')}"
        sha256 = body["fileHash"]
        try:
            answer = self._json("POST", f"{path}/complete", json=complete_request(body),
                                idempotent=True)
        except PermanentError as exc:
            if exc.status == 409 and self._completed(path, sha256):
                return True  # completed already: by a lost answer, or by the worker we replace
            if exc.status in (400, 404) and discard and not isinstance(exc, AuthError):
                self._discard(path)
                return False
            raise
        except BadResponse:
            answer = None  # unreadable: what the platform did is asked below
        if completed_file(answer, sha256) or self._completed(path, sha256):
            return True
        raise bad(f"file {file_id} is not complete after /complete", answer)

    def _discard(self, path: str) -> None:
        """Deletes a pending file that holds no bytes of ours; already gone is fine."""
        try:
            self._request("DELETE", path)
        except PermanentError as exc:
            if exc.status != 404:
                raise

    def _completed(self, path: str, sha256: str) -> bool:
        """Whether the file at ``path`` is complete with these bytes (a lost /complete)."""
        return completed_file(self._json("GET", path), sha256)
