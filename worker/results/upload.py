"""Upload-as-file: hand a finished job's result to a platform as a file.

Which bytes: the output file named by ``upload.file``; otherwise the only output file;
otherwise the result data as JSON. The hash is looked up on the target platform before
every upload, so the same bytes are never uploaded twice — not by two jobs with equal
results, and not by a retry after a worker died between uploading and recording the id.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from worker.errors import PermanentError
from worker.providers.base import Outputs, Provider


@dataclass(frozen=True)
class Uploaded:
    file_id: str
    sha256: str
    reused: bool  # the platform already held these bytes


def choose_payload(outputs: Outputs, spec: Mapping[str, Any]) -> tuple[str, bytes]:
    """The (file name, bytes) to upload for this job's ``upload`` spec."""
    wanted = spec.get("file")
    if wanted is not None:
        if wanted not in outputs.files:
            raise PermanentError(f"upload: no output file named {wanted!r} "
                                 f"(outputs: {', '.join(sorted(outputs.files)) or 'none'})",
                                 provider=str(spec.get("to")))
        return _basename(wanted), outputs.files[wanted]
    if len(outputs.files) == 1:
        [(name, data)] = outputs.files.items()
        return _basename(spec.get("name") or name), data
    if outputs.files:
        raise PermanentError(f"upload: the job has {len(outputs.files)} output files; "
                             "name one with upload.file", provider=str(spec.get("to")))
    document = json.dumps(outputs.data, sort_keys=True, indent=1).encode()
    return spec.get("name") or "result.json", document


def upload_once(target: Provider, name: str, data: bytes) -> Uploaded:
    """Uploads unless the target already holds these bytes; returns the file id either way."""
    if not target.supports_upload:
        raise PermanentError(f"{target.name} does not take uploaded files", provider=target.name)
    digest = hashlib.sha256(data).hexdigest()
    existing = target.find_upload(digest, name)
    if existing is not None:
        return Uploaded(existing, digest, reused=True)
    return Uploaded(target.upload(name, data, digest), digest, reused=False)


def _basename(name: str) -> str:
    return name.rstrip("/").rsplit("/", 1)[-1] or "result"
