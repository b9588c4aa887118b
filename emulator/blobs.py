"""In-memory file storage plus presigned URLs, shared by every provider.

Real platforms hand out presigned S3 URLs that clients PUT/GET *without* their API token,
often from a fresh HTTP client. The emulator plays the bucket too: `SignedStorage` signs
URLs that point back at the emulator (under the provider's prefix, `/_storage/{key}`), checks
the HMAC and expiry when they are used, and stores the bytes in a `BlobStore`. Being under the
provider prefix, storage requests count in that provider's stats and get its faults.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

# Presigned URLs on the real platforms live for minutes to hours; an hour covers long tests.
SIGNED_URL_TTL_S = 3600
UPLOAD, DOWNLOAD = "upload", "download"


@dataclass(frozen=True, slots=True)
class Blob:
    """One stored file; the SHA-256 is computed once when it is stored."""

    data: bytes
    sha256: str
    content_type: str
    stored_at: float

    @classmethod
    def of(cls, data: bytes, content_type: str, now: float) -> Blob:
        """Build a blob, hashing its content."""
        return cls(data, hashlib.sha256(data).hexdigest(), content_type, now)

    @property
    def etag(self) -> str:
        """An S3-style quoted ETag (ours is a SHA-256 prefix rather than an MD5)."""
        return f'"{self.sha256[:32]}"'


class BlobStore:
    """Files by key; keys are opaque strings that providers namespace as they like."""

    def __init__(self) -> None:
        self._blobs: dict[str, Blob] = {}

    def put(self, key: str, blob: Blob) -> None:
        """Store (or replace) the file at `key`."""
        self._blobs[key] = blob

    def get(self, key: str) -> Blob | None:
        """The file at `key`, or None."""
        return self._blobs.get(key)

    def delete(self, key: str) -> bool:
        """Remove one file; returns whether it existed."""
        return self._blobs.pop(key, None) is not None

    def keys_under(self, prefix: str) -> list[str]:
        """Sorted keys starting with `prefix`."""
        return sorted(key for key in self._blobs if key.startswith(prefix))

    def clear(self) -> None:
        """Forget every file."""
        self._blobs.clear()


class UrlSigner:
    """HMAC signatures for storage URLs, with a per-process secret and an expiry."""

    def __init__(self, secret: bytes | None = None, ttl_s: float = SIGNED_URL_TTL_S) -> None:
        self._secret = secret or secrets.token_bytes(32)
        self._ttl_s = ttl_s

    def _mac(self, op: str, key: str, expires: str) -> str:
        message = f"{op}\n{key}\n{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def sign(self, op: str, key: str, now: float) -> dict[str, str]:
        """Query parameters that authorise `op` on `key` until now + ttl."""
        expires = str(int(now + self._ttl_s))
        return {"op": op, "expires": expires, "signature": self._mac(op, key, expires)}

    def problem(self, op: str, key: str, query: dict[str, str], now: float) -> str | None:
        """Why the query does not authorise `op` on `key`, or None if it does."""
        expires = query.get("expires", "")
        if query.get("op") != op:
            return f"this URL is not signed for {op}"
        if not expires.isdigit() or int(expires) < now:
            return "signed URL expired"
        if not hmac.compare_digest(self._mac(op, key, expires), query.get("signature", "")):
            return "signature does not match"
        return None


class SignedStorage:
    """Serves presigned PUT/GET URLs for one provider, like a tiny S3 bucket.

    `store(key, data, content_type)` saves bytes (and records stats); `resolve(key)` finds a
    file, which lets a provider serve generated files (e.g. job results) that were never put.
    """

    def __init__(
        self,
        prefix: str,
        signer: UrlSigner,
        store: Callable[[str, bytes, str], Blob],
        resolve: Callable[[str], Blob | None],
        now: Callable[[], float],
    ) -> None:
        self._prefix = prefix
        self._signer = signer
        self._store = store
        self._resolve = resolve
        self._now = now

    def url(self, request: web.Request, key: str, op: str) -> str:
        """Absolute presigned URL for `key`, on the host the client used to reach us."""
        path = f"{self._prefix}/_storage/{key}"
        query = self._signer.sign(op, key, self._now())
        return str(request.url.origin().with_path(path).with_query(query))

    def routes(self) -> list[web.RouteDef]:
        """Routes to mount inside the provider's sub-application."""
        return [
            web.put("/_storage/{key:.+}", self._put),
            web.get("/_storage/{key:.+}", self._get),
        ]

    async def _put(self, request: web.Request) -> web.Response:
        key = request.match_info["key"]
        problem = self._signer.problem(UPLOAD, key, dict(request.query), self._now())
        if problem:
            return _denied(problem)
        data = await request.read()
        blob = self._store(key, data, request.content_type or "application/octet-stream")
        return web.Response(status=200, headers={"ETag": blob.etag})

    async def _get(self, request: web.Request) -> web.Response:
        key = request.match_info["key"]
        problem = self._signer.problem(DOWNLOAD, key, dict(request.query), self._now())
        if problem:
            return _denied(problem)
        blob = self._resolve(key)
        if blob is None:
            return web.json_response({"message": "NoSuchKey", "key": key}, status=404)
        return blob_response(blob)


def blob_response(blob: Blob) -> web.Response:
    """A raw-bytes response for a stored file."""
    return web.Response(body=blob.data, content_type=blob.content_type, headers={"ETag": blob.etag})


def _denied(message: str) -> web.Response:
    return web.json_response({"message": message}, status=403)
