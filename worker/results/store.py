"""Where finished jobs' results go.

A result store keeps bytes and hands back a location string that goes on the job record.
:class:`FilesystemStore` is the default: one directory per batch, every write atomic
(temporary file, then rename), and content addressed, so identical results are stored
once. An object store would implement the same two methods.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol


class ResultStore(Protocol):
    def put(self, batch: str, data: bytes) -> str:
        """Stores ``data`` for ``batch`` and returns its location."""

    def get(self, location: str) -> bytes:
        """Reads back what :meth:`put` stored."""


class FilesystemStore:
    """Content-addressed files under ``root/<batch>/<sha256[:2]>/<sha256>``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()

    def put(self, batch: str, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        path = self.root / _safe(batch) / digest[:2] / digest
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(data)
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        return str(path)

    def get(self, location: str) -> bytes:
        return Path(location).read_bytes()


def store_outputs(
    store: ResultStore, batch: str, data: Mapping[str, Any], files: Mapping[str, bytes]
) -> str:
    """Stores output files, then a JSON manifest naming them; returns the manifest's location.

    The manifest is ``{"data": ..., "files": {name: {"location", "sha256", "size"}}}``.
    """
    listed = {
        name: {
            "location": store.put(batch, blob),
            "sha256": hashlib.sha256(blob).hexdigest(),
            "size": len(blob),
        }
        for name, blob in files.items()
    }
    manifest = json.dumps({"data": data, "files": listed}, sort_keys=True, indent=1)
    return store.put(batch, manifest.encode())


def _safe(batch: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "._-" else "_" for c in batch)
    return cleaned or "_"
