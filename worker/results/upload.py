"""Upload-as-file: hand a finished job's result to a platform as a file.

Which bytes: the output file named by ``upload.file``; otherwise the only output file;
otherwise the result data as JSON. The hash is looked up on the target platform before
every upload, so the same bytes are never uploaded twice — not by two jobs with equal
results, and not by a retry after a worker died between uploading and recording the id.
Within a process, jobs with the same bytes for the same platform take turns (finalize fetches
a message's jobs at once), so the second finds the first's file; two processes finalizing such
twins at the same moment may still each upload one.

An upload can outlive its step's lease (a slow platform); another worker then takes the step
over and uploads too. :class:`LeaseFence` renews the lease before each part of the upload
and raises ``LeaseLost`` once it is gone, and the provider holds it right before the part
that makes the file final, so at most one worker ever completes a file for a job.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from worker.errors import LeaseLost, PermanentError
from worker.providers.base import Provider
from worker.providers.types import Outputs


class LeaseStore(Protocol):
    def renew_lease(self, job_id: str, step: str, token: str, lease_s: float) -> str | None:
        """The renewed token, or None when another worker has the step."""


class LeaseFence:
    """Renews a step's lease when called; raises ``LeaseLost`` once another worker has it.

    Called by the step before each part of an upload and by the heartbeat thread between,
    so the token (the lease's end, which each renewal changes) is kept under a lock.
    """

    def __init__(self, store: LeaseStore, job_id: str, step: str, token: str,
                 lease_s: float) -> None:
        self._store, self._job_id, self._step = store, job_id, step
        self._token, self._lease_s = token, lease_s
        self._lock = threading.Lock()

    def __call__(self) -> None:
        with self._lock:
            token = self._store.renew_lease(self._job_id, self._step, self._token,
                                            self._lease_s)
            if token is None:
                raise LeaseLost(f"job {self._job_id}: {self._step} taken over by another "
                                "worker")
            self._token = token

    def keep(self) -> bool:
        """Renews the lease; False once it is gone (the step ended or was taken over)."""
        try:
            self()
        except LeaseLost:
            return False
        return True


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


# Striped, so twins with the same bytes take turns without a lock per digest kept forever.
_TURNS = tuple(threading.Lock() for _ in range(64))


def upload_once(
    target: Provider, name: str, data: bytes, *, job_id: str = "",
    fence: Callable[[], None] = lambda: None,
) -> Uploaded:
    """Uploads unless the target already holds these bytes; returns the file id either way.

    ``fence`` is held before the lookup and handed to the provider for every later part.
    """
    if not target.supports_upload:
        raise PermanentError(f"{target.name} does not take uploaded files", provider=target.name)
    digest = hashlib.sha256(data).hexdigest()
    with _TURNS[hash((target.name, digest)) % len(_TURNS)]:
        fence()
        existing = target.find_upload(digest, name)
        if existing is not None:
            return Uploaded(existing, digest, reused=True)
        file_id = target.upload(name, data, digest, job_id=job_id, fence=fence)
    return Uploaded(file_id, digest, reused=False)


def _basename(name: str) -> str:
    return name.rstrip("/").rsplit("/", 1)[-1] or "result"
