"""Deep Origin files service (`/files/{org}/...`) over the shared blob store.

Keys are multi-segment paths (`a/b/c.txt`) kept raw in the URL, so routes use a catch-all
parameter, and `signedUrl` and `directory` are reserved first segments (registered first).
Files are stored under `{org}/{key}`; signed URLs point at the emulator's own `/_storage/`.

Completed executions' result files (`tool-runs/{executionId}/result.json`) are generated on
demand from the job record rather than stored, so 100,000 finished jobs cost no file memory;
they can be downloaded like any other file but do not appear in directory listings or in the
stats' stored files.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from emulator.blobs import DOWNLOAD, UPLOAD, Blob, SignedStorage, blob_response
from emulator.clock import SUCCEEDED
from emulator.deeporigin.dto import iso, result_file_bytes
from emulator.provider import ProviderContext

# The client documents max-keys as "cannot exceed 1000", like S3.
MAX_KEYS = 1000
RESULT_PREFIX = "tool-runs/"
RESULT_NAME = "result.json"


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"message": message}, status=status)


def _key(request: web.Request) -> str | None:
    """The file key from the URL, or None if it tries to climb out with `..`."""
    key = request.match_info.get("key", "")
    return None if ".." in key.split("/") else key


class FilesApi:
    """Handlers for `/files/{org}/...`; presigned transfers go through `self.storage`."""

    def __init__(self, ctx: ProviderContext) -> None:
        self.ctx = ctx
        self.storage = SignedStorage(
            ctx.prefix, ctx.signer, ctx.store_file, self.resolve, ctx.clock.now
        )

    def routes(self, guard: Any) -> list[web.RouteDef]:
        """Routes in match order: reserved first segments before the catch-all key."""
        return [
            web.get("/files/{org}/signedUrl/{key:.+}", guard(self.signed_url)),
            web.get("/files/{org}/directory", guard(self.directory)),
            web.get("/files/{org}/directory/{key:.*}", guard(self.directory)),
            web.put("/files/{org}/{key:.+}", guard(self.upload)),
            web.get("/files/{org}/{key:.+}", guard(self.download)),
            web.delete("/files/{org}/{key:.+}", guard(self.delete)),
        ]

    def resolve(self, full_key: str) -> Blob | None:
        """Find `{org}/{key}`: a stored file, or a completed execution's result file."""
        blob = self.ctx.blobs.get(full_key)
        if blob is not None:
            return blob
        org, _, key = full_key.partition("/")
        if not key.startswith(RESULT_PREFIX) or not key.endswith("/" + RESULT_NAME):
            return None
        execution_id = key[len(RESULT_PREFIX) : -len(RESULT_NAME) - 1]
        job = self.ctx.jobs.get(execution_id)
        now = self.ctx.clock.now()
        if job is None or job.data.org != org or job.phase(now) != SUCCEEDED:
            return None
        return Blob.of(result_file_bytes(job), "application/json", job.finished_at(now) or now)

    async def signed_url(self, request: web.Request) -> web.Response:
        """`{"url": ...}` for a presigned PUT (`?upload=true`) or GET of the key."""
        key = _key(request)
        if not key:
            return _error(400, "invalid file key")
        upload = request.query.get("upload", "").lower() in ("true", "1")
        full_key = f"{request.match_info['org']}/{key}"
        url = self.storage.url(request, full_key, UPLOAD if upload else DOWNLOAD)
        return web.json_response({"url": url})

    async def upload(self, request: web.Request) -> web.Response:
        """Multipart PUT with a part named `file` (a raw body is accepted too)."""
        key = _key(request)
        if not key:
            return _error(400, "invalid file key")
        if request.content_type.startswith("multipart/"):
            data = await _multipart_file(request)
            if data is None:
                return _error(400, "multipart body has no part named 'file'")
        else:
            data = await request.read()
        full_key = f"{request.match_info['org']}/{key}"
        blob = self.ctx.store_file(full_key, data, "application/octet-stream")
        return web.json_response(
            {"key": key, "eTag": blob.etag, "size": len(data), "sha256": blob.sha256}
        )

    async def download(self, request: web.Request) -> web.Response:
        """Direct download with the bearer token (the client's `direct=True` path)."""
        key = _key(request)
        blob = self.resolve(f"{request.match_info['org']}/{key}") if key else None
        if blob is None:
            return _error(404, f"File {key} not found")
        return blob_response(blob)

    async def delete(self, request: web.Request) -> web.Response:
        """JSON `true` when something was deleted; a key ending in `/` removes the subtree.

        Like the real service, a miss is still a 200, with body `false`.
        """
        key = _key(request)
        if not key:
            return _error(400, "invalid file key")
        full_key = f"{request.match_info['org']}/{key}"
        if key.endswith("/"):
            keys = self.ctx.blobs.keys_under(full_key)
            deleted = sum(self.ctx.blobs.delete(k) for k in keys) > 0
        else:
            deleted = self.ctx.blobs.delete(full_key)
        return web.json_response(deleted)

    async def directory(self, request: web.Request) -> web.Response:
        """S3-style listing under a prefix, paged by `max-keys` and `continuation-token`."""
        key = _key(request)
        if key is None:
            return _error(400, "invalid file key")
        org = request.match_info["org"]
        base = f"{key}/" if key and not key.endswith("/") else key
        query = request.query
        prefix = f"{org}/{base}{query.get('prefix', '')}"
        recursive = query.get("recursive", "").lower() in ("true", "1")
        try:
            max_keys = min(int(query.get("max-keys", MAX_KEYS)), MAX_KEYS)
            offset = int(query.get("continuation-token") or 0)
        except ValueError:
            return _error(400, "max-keys and continuation-token must be integers")
        keys = [
            k for k in self.ctx.blobs.keys_under(prefix)
            if recursive or "/" not in k[len(org) + 1 + len(base):]
        ]
        page = keys[offset : offset + max(max_keys, 1)]
        data = [_entry(org, k, blob) for k in page if (blob := self.ctx.blobs.get(k))]
        body: dict[str, Any] = {"data": data}
        if offset + len(page) < len(keys):
            body["continuation_token"] = str(offset + len(page))
        return web.json_response(body)



def _entry(org: str, full_key: str, blob: Blob) -> dict[str, Any]:
    """One listing row, S3 style, with the key relative to the org."""
    return {
        "Key": full_key[len(org) + 1 :],
        "Size": len(blob.data),
        "ETag": blob.etag,
        "LastModified": iso(blob.stored_at),
    }


async def _multipart_file(request: web.Request) -> bytes | None:
    """The bytes of the part named `file`, or None when there is none."""
    reader = await request.multipart()
    async for part in reader:
        if getattr(part, "name", None) == "file":
            return bytes(await part.read())  # type: ignore[union-attr]
    return None
