"""The files API: presigned upload in three steps, list by SHA-256, retrieve, download, delete.

    POST /files/upload-url      {fileName, fileSize, fileHash, mimeType, teamId} -> 201
                                {file: {... uploadStatus: "pending"}, uploadUrl, expiresAt}
    PUT  <uploadUrl>            raw bytes, no auth, Content-Type = the declared mimeType
    POST /files/{id}/complete   {fileSize, fileHash} -> 200, the flat file, "completed"

`/complete` checks the bytes that actually arrived against both the body and what upload-url
declared (400 on a mismatch, the file stays pending so the client can PUT again; 409 once
completed). A file counts in the stats' `files` (with its SHA-256) when it completes, so the
stats list only verified uploads. The async client's snake_case upload-url body (`filename`,
`file_size`, `mime_type`, `team_id`, no hash) is accepted too; its hash is then checked at
`/complete` only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from emulator.blobs import DOWNLOAD, SIGNED_URL_TTL_S, UPLOAD, Blob, SignedStorage
from emulator.moderately.listing import ListSpec, paginate, parse_page
from emulator.moderately.wire import (
    BadRequest,
    Limits,
    bad_request,
    error,
    iso,
    json_body,
    new_id,
    query_values,
    teams_of,
    text_field,
)
from emulator.provider import ProviderContext

FILE_PREFIX = "files/"
UPLOADER = "EmuLatorUser000000000"  # `uploadedBy`: the emulator has one user
SNAKE_UPLOAD_KEYS = {"filename": "fileName", "file_size": "fileSize", "mime_type": "mimeType",
                     "team_id": "teamId"}
FILE_SIZE = Limits(0)
ORDER_FIELDS: dict[str, Callable[[Any, float], Any]] = {
    "createdAt": lambda f, now: f.created_at,
    "updatedAt": lambda f, now: f.updated_at,
    "fileName": lambda f, now: f.name,
    "fileSize": lambda f, now: f.size,
}
FILE_LIST = ListSpec(20, 100, ORDER_FIELDS)


@dataclass(slots=True)
class FileRecord:
    """One file as the platform tracks it; the bytes live in the blob store."""

    file_id: str
    team: str
    name: str
    size: int
    sha256: str | None  # as declared at upload-url (None from the async client's body)
    mime: str
    metadata: dict[str, Any]
    seq: int
    created_at: float
    updated_at: float
    status: str = "pending"

    @property
    def key(self) -> str:
        """Where the bytes are kept (and how the stats name the file)."""
        return FILE_PREFIX + self.file_id

    def render(self) -> dict[str, Any]:
        """The File object of the OpenAPI document."""
        return {
            "fileId": self.file_id, "teamId": self.team, "fileName": self.name,
            "fileSize": self.size, "mimeType": self.mime, "fileHash": self.sha256,
            "uploadStatus": self.status, "uploadedBy": UPLOADER, "metadata": self.metadata,
            "createdAt": iso(self.created_at), "updatedAt": iso(self.updated_at),
        }


def _upload_fields(body: dict[str, Any]) -> dict[str, Any]:
    """The upload-url body in camelCase, checked; raises BadRequest."""
    body = {SNAKE_UPLOAD_KEYS.get(key, key): value for key, value in body.items()}
    snake = "fileHash" not in body
    for key, high in (("fileName", 1000), ("mimeType", 255), ("teamId", None)):
        if text_field(body, key, low=1, high=high) is None:
            raise BadRequest(f"{key} is required", key)
    if text_field(body, "fileHash", low=1, high=255) is None and not snake:
        raise BadRequest("fileHash is required", "fileHash")
    if FILE_SIZE.check(body, "fileSize") is None:
        raise BadRequest("fileSize is required", "fileSize")
    if not isinstance(body.get("metadata") or {}, dict):
        raise BadRequest("metadata must be an object", "metadata")
    return body


class FilesApi:
    """Handlers for `/files/*`, plus the store/resolve hooks of the presigned URLs."""

    def __init__(
        self, ctx: ProviderContext, storage: SignedStorage, next_seq: Callable[[], int]
    ) -> None:
        self.ctx = ctx
        self.storage = storage
        self.next_seq = next_seq
        self.records: dict[str, FileRecord] = {}

    def routes(self, guard: Any) -> list[web.RouteDef]:
        """Routes in match order: `upload-url` before `{id}`."""
        one = "/files/{id}"
        return [
            web.post("/files/upload-url", guard(self.upload_url)),
            web.get("/files", guard(self.list_files)),
            web.get(one, guard(self.retrieve)),
            web.delete(one, guard(self.delete)),
            web.post(one + "/complete", guard(self.complete)),
            web.get(one + "/download", guard(self.download)),
        ]

    def store_upload(self, key: str, data: bytes, content_type: str) -> Blob:
        """A presigned PUT: only into a pending file, with the declared Content-Type.

        Refusals raise 403, as S3 does for a request that does not match its signature.
        """
        record = self.records.get(key.removeprefix(FILE_PREFIX))
        if record is None or record.status != "pending":
            raise web.HTTPForbidden(reason="no pending upload for this URL")
        if content_type.lower() != record.mime.split(";")[0].strip().lower():
            raise web.HTTPForbidden(reason=f"Content-Type must be {record.mime} as signed")
        blob = Blob.of(data, record.mime, self.ctx.clock.now())
        self.ctx.blobs.put(key, blob)
        return blob

    def resolve(self, key: str) -> Blob | None:
        """A completed file's bytes behind a signed download URL."""
        record = self.records.get(key.removeprefix(FILE_PREFIX))
        return self.ctx.blobs.get(key) if record and record.status == "completed" else None

    def _find(self, request: web.Request) -> FileRecord | web.Response:
        record = self.records.get(request.match_info["id"])
        if record is None:
            return error(request, 404, "File not found")
        if record.team not in teams_of(request):
            return error(request, 403, "User is not a member of the team that owns this file")
        return record

    async def upload_url(self, request: web.Request) -> web.Response:
        """Step 1: record a pending file and sign a PUT URL for its bytes."""
        try:
            body = _upload_fields(await json_body(request))
        except BadRequest as exc:
            return bad_request(request, exc)
        if body["teamId"] not in teams_of(request):
            return error(request, 403, "User is not a member of the specified team")
        now = self.ctx.clock.now()
        sha256 = body.get("fileHash")
        record = FileRecord(
            new_id(), body["teamId"], body["fileName"], body["fileSize"],
            sha256.lower() if sha256 else None, body["mimeType"], body.get("metadata") or {},
            self.next_seq(), now, now,
        )
        self.records[record.file_id] = record
        return web.json_response({
            "file": record.render(),
            "uploadUrl": self.storage.url(request, record.key, UPLOAD),
            "expiresAt": iso(now + SIGNED_URL_TTL_S),
        }, status=201)

    async def complete(self, request: web.Request) -> web.Response:
        """Step 3: verify size and SHA-256 of what arrived, then mark the file completed."""
        found = self._find(request)
        if isinstance(found, web.Response):
            return found
        try:
            body = await json_body(request)
            size = FILE_SIZE.check(body, "fileSize")
            sha256 = text_field(body, "fileHash", low=1, high=255)
            if size is None or sha256 is None:
                raise BadRequest("fileSize and fileHash are required")
        except BadRequest as exc:
            return bad_request(request, exc)
        if found.status != "pending":
            return error(request, 409, "File upload has already been completed or failed")
        problem = self._mismatch(found, size, sha256.lower())
        if problem:
            return error(request, 400, problem)
        found.status, found.updated_at = "completed", self.ctx.clock.now()
        found.sha256 = sha256.lower()
        self.ctx.stats.count_file(found.key, found.sha256, size)
        return web.json_response(found.render())

    def _mismatch(self, record: FileRecord, size: int, sha256: str) -> str | None:
        """Why the uploaded bytes do not match the claim, or None when they do."""
        blob = self.ctx.blobs.get(record.key)
        if blob is None:
            return "No data was uploaded for this file"
        if size != len(blob.data) or size != record.size:
            return f"fileSize {size} does not match the upload ({len(blob.data)} bytes)"
        if sha256 != blob.sha256 or (record.sha256 and sha256 != record.sha256):
            return "fileHash does not match the SHA-256 of the uploaded data"
        return None

    async def retrieve(self, request: web.Request) -> web.Response:
        """`GET /files/{id}`: the file object."""
        found = self._find(request)
        return found if isinstance(found, web.Response) else web.json_response(found.render())

    async def delete(self, request: web.Request) -> web.Response:
        """`DELETE /files/{id}`: 204, then the file is gone from retrieve and list."""
        found = self._find(request)
        if isinstance(found, web.Response):
            return found
        self.records.pop(found.file_id, None)
        self.ctx.blobs.delete(found.key)
        return web.Response(status=204)

    async def download(self, request: web.Request) -> web.Response:
        """`{downloadUrl, expiresAt}` for a completed file; 400 before that."""
        found = self._find(request)
        if isinstance(found, web.Response):
            return found
        if found.status != "completed":
            return error(request, 400, "File upload is not completed")
        now = self.ctx.clock.now()
        url = self.storage.url(request, found.key, DOWNLOAD)
        return web.json_response({"downloadUrl": url, "expiresAt": iso(now + SIGNED_URL_TTL_S)})

    async def list_files(self, request: web.Request) -> web.Response:
        """`GET /files`, newest first, filtered by ids, hashes, name, MIME type and status."""
        try:
            page = parse_page(request.query, FILE_LIST)
        except BadRequest as exc:
            return bad_request(request, exc)
        query, teams = request.query, teams_of(request)
        ids = query_values(query, "fileIds")
        hashes = {h.lower() for h in query_values(query, "fileHashes", "file_hashes")}
        mimes = query_values(query, "mimeTypes", "mime_type")
        statuses = query_values(query, "uploadStatus", "status")
        name_like = (query.get("nameLike") or "").lower()
        rows = [
            r for r in self.records.values()
            if r.team in teams and (not ids or r.file_id in ids)
            and (not hashes or r.sha256 in hashes) and (not mimes or r.mime in mimes)
            and (not statuses or r.status in statuses) and name_like in r.name.lower()
        ]
        body = paginate(rows, page, FILE_LIST, 0.0, lambda r: r.seq, FileRecord.render)
        return web.json_response(body)

    def reset(self) -> None:
        """Forget every file record (the blobs go with the context's reset)."""
        self.records.clear()
