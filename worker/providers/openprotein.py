"""OpenProtein.AI MSA and embedding jobs (wire protocol: ``/work/shared/providers/openprotein.md``).

Kinds: ``msa`` (``POST v1/align/msa``, result FASTA) and ``embed``
(``POST v1/embeddings/models/{model}/embed``, one ``.npy`` per sequence); their params are in
:mod:`worker.providers.openprotein_params`. Status is ``GET v1/jobs/{id}``.

What the platform does not offer, and what follows from it:

* **No cancel endpoint.** :meth:`OpenProteinProvider.cancel` raises ``NotImplementedError``
  and the fleet simply stops tracking the job.
* **No client tag or idempotency key.** A job carries only its inputs, so a job whose create
  request was lost cannot be told apart from another with the same inputs: ``supports_find``
  is false, and a create is never blindly repeated (only a 429, a refusal, is retried).

The login token is shared by the fleet through Redis (:mod:`worker.providers.openprotein_auth`);
a 401 on a call renews it once and retries the call once.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from redis import Redis

from config.settings import HTTP_RETRIES, HTTP_TIMEOUT_S, OpenProteinSettings
from worker.errors import AuthError, BadResponse, ConfigError, PermanentError
from worker.providers.base import JobSpec, Outputs, Provider, RemoteState, RemoteStatus, Submission
from worker.providers.http import HttpClient, Throttle, parse_json
from worker.providers.openprotein_auth import SharedToken
from worker.providers.openprotein_params import EmbedParams, MsaParams, job_params

NAME = "openprotein"
MSA_FILE = "msa.fasta"
FASTA_TYPE = "text/x-fasta"  # anything else is CSV to the official client, and to us
NPY_MAGIC = b"\x93NUMPY"
_STATES = {
    "PENDING": RemoteState.PENDING,
    "RETRYING": RemoteState.PENDING,  # the platform re-runs it after an internal failure
    "RUNNING": RemoteState.RUNNING,
    "SUCCESS": RemoteState.SUCCEEDED,
    "FAILURE": RemoteState.FAILED,
    "CANCELED": RemoteState.CANCELLED,
}


def _bad(message: str, answer: Any) -> BadResponse:
    return BadResponse(message, provider=NAME, body=json.dumps(answer, default=str))


def remote_status(record: Any) -> RemoteStatus:
    """Normalises a Job object; one we cannot read raises ``BadResponse`` quoting it."""
    if not (
        isinstance(record, Mapping)
        and isinstance(record.get("job_id"), str)
        and isinstance(record.get("status"), str)
        and isinstance(record.get("job_type"), str)
    ):
        raise _bad("job record without job_id, job_type and status", record)
    raw = record["status"]
    if raw not in _STATES:
        raise _bad(f"unknown job status {raw!r}", record)
    reason = record.get("failure_message") if raw == "FAILURE" else None
    detail = reason if isinstance(reason, str) and reason else None
    return RemoteStatus(state=_STATES[raw], raw=raw, detail=detail, record=record)


def fasta_of(response: requests.Response) -> bytes:
    """The MSA as FASTA: as sent when typed ``text/x-fasta``, else read as ``name,sequence`` CSV."""
    body = response.content
    if response.headers.get("Content-Type", "").strip() == FASTA_TYPE:
        if not body.lstrip().startswith(b">"):
            raise BadResponse("FASTA result without a record", provider=NAME, body=body)
        return body
    rows = [row for row in csv.reader(io.StringIO(body.decode("utf-8", "replace"))) if row]
    if not rows or any(len(row) < 2 for row in rows):
        raise BadResponse("MSA result is neither FASTA nor name,sequence CSV",
                          provider=NAME, body=body)
    return "".join(f">{row[0]}\n{row[1]}\n" for row in rows).encode()


def _required(value: str | None, variable: str) -> str:
    if not value:
        raise ConfigError(f"{variable} is not set; OpenProtein needs it")
    return value


class OpenProteinProvider(Provider):
    """OpenProtein's align and embeddings services; one shared login for the fleet."""

    name = NAME
    kinds = frozenset({"msa", "embed"})
    supports_cancel = False
    supports_find = False

    def __init__(
        self,
        settings: OpenProteinSettings,
        *,
        timeout_s: float = HTTP_TIMEOUT_S,
        retries: int = HTTP_RETRIES,
        session: requests.Session | None = None,
        redis: Redis | None = None,
        sleep: Callable[[float], None] = time.sleep,
        before_request: Callable[[], None] | None = None,
        throttle: Throttle | None = None,
    ) -> None:
        username = _required(settings.username, "OPENPROTEIN_USERNAME")
        if settings.password is None or not settings.password.get_secret_value():
            raise ConfigError("OPENPROTEIN_PASSWORD is not set; OpenProtein needs it")
        backend = _required(settings.api_backend, "OPENPROTEIN_API_BACKEND")
        if urlsplit(backend).scheme not in ("http", "https"):
            raise ConfigError("OPENPROTEIN_API_BACKEND must be an http(s) URL")
        if redis is None:
            raise ConfigError("OpenProtein shares its login through Redis; no client was given")
        self._http = HttpClient(
            NAME, backend, timeout_s=timeout_s, retries=retries, session=session,
            sleep=sleep, before_request=before_request, throttle=throttle,
        )
        self._token = SharedToken(
            self._http, redis, backend=backend, username=username, password=settings.password
        )

    def submit(self, job: JobSpec) -> Submission:
        """Creates the remote job in one attempt (a lost create cannot be found again)."""
        params = job_params(job.kind, job.params)
        if isinstance(params, MsaParams):
            response = self._call(
                "POST", "v1/align/msa", params=params.query(), data=params.form(),
                files={"msa_file": ("msa_file", params.fasta())}, idempotent=False,
            )
        else:
            response = self._create_embeddings(params)
        status = remote_status(parse_json(NAME, response))
        return Submission(remote_id=status.record["job_id"], status=status)

    def status(self, remote_id: str, kind: str) -> RemoteStatus:
        """One Job object, normalised; the raw record is kept on the status."""
        record = parse_json(NAME, self._call("GET", f"v1/jobs/{quote(remote_id, safe='')}"))
        status = remote_status(record)
        if record["job_id"] != remote_id:
            raise _bad(f"asked for job {remote_id}, got another", record)
        return status

    def cancel(self, remote_id: str, kind: str) -> None:
        """OpenProtein has no cancel endpoint; the fleet stops tracking the job instead."""
        raise NotImplementedError("openprotein has no cancel endpoint")

    def fetch_outputs(self, remote_id: str, kind: str, status: RemoteStatus) -> Outputs:
        """``msa``: the alignment as ``msa.fasta``; ``embed``: one ``.npy`` per sequence."""
        if kind == "msa":
            return self._msa_outputs(remote_id)
        if kind == "embed":
            return self._embed_outputs(remote_id)
        raise PermanentError(f"unsupported job kind {kind!r}", provider=NAME)

    def close(self) -> None:
        """Releases the HTTP session if this provider made it."""
        self._http.close()

    def _create_embeddings(self, params: EmbedParams) -> requests.Response:
        path = f"v1/embeddings/models/{params.model}/embed"
        return self._call("POST", path, json=params.body(), idempotent=False)

    def _msa_outputs(self, remote_id: str) -> Outputs:
        query = {"job_id": remote_id, "msa_type": "GENERATED"}
        fasta = fasta_of(self._call("GET", "v1/align/inputs", params=query, json_answer=False))
        count = sum(1 for line in fasta.splitlines() if line.startswith(b">"))
        data = {"job_id": remote_id, "file": MSA_FILE, "num_sequences": count}
        return Outputs(data=data, files={MSA_FILE: fasta})

    def _embed_outputs(self, remote_id: str) -> Outputs:
        base = f"v1/embeddings/embed/{quote(remote_id, safe='')}"
        sequences = parse_json(NAME, self._call("GET", f"{base}/sequences"))
        if not (isinstance(sequences, list) and all(isinstance(s, str) for s in sequences)):
            raise _bad("sequence list is not a list of strings", sequences)
        files: dict[str, bytes] = {}
        listing = []
        for index, sequence in enumerate(sequences):
            array = self._call(
                "GET", f"{base}/{quote(sequence, safe='')}", json_answer=False
            ).content
            if not array.startswith(NPY_MAGIC):
                raise BadResponse(f"embedding {index} is not a .npy file", provider=NAME,
                                  body=array[:64])
            name = f"embedding_{index:05d}.npy"
            files[name] = array
            listing.append({"sequence": sequence, "file": name,
                            "sha256": hashlib.sha256(array).hexdigest()})
        return Outputs(data={"job_id": remote_id, "embeddings": listing}, files=files)

    def _call(
        self, method: str, path: str, *, json_answer: bool = True, **kwargs: Any
    ) -> requests.Response:
        """One authenticated request; a 401 renews the shared token and retries once."""
        headers = {"Accept": "application/json"} if json_answer else {}
        token = self._token.bearer()
        try:
            return self._http.request(
                method, path, headers={**headers, "Authorization": f"Bearer {token}"}, **kwargs
            )
        except AuthError as exc:
            if exc.status != 401:
                raise
        token = self._token.after_rejection(token)
        return self._http.request(
            method, path, headers={**headers, "Authorization": f"Bearer {token}"}, **kwargs
        )
