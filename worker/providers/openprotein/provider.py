"""OpenProtein.AI MSA and embedding jobs, as the official ``openprotein-python`` client speaks.

Kinds: ``msa`` (``POST v1/align/msa``, result FASTA) and ``embed``
(``POST v1/embeddings/models/{model}/embed``, one ``.npy`` per sequence); their params are in
:mod:`.params`. Status is ``GET v1/jobs/{id}``.

What the platform does not offer, and what follows from it:

* **No cancel endpoint.** :meth:`OpenProteinProvider.cancel` raises ``NotImplementedError``
  and the fleet simply stops tracking the job.
* **No client tag or idempotency key.** A create is never blindly repeated (only a 429, a
  refusal, is retried), and a create whose answer was lost is found again **by payload**
  (:meth:`OpenProteinProvider.find`, the hooks in :mod:`.search`): the kind's recent jobs
  are listed and their inputs read back and compared with ours. The first match that no
  other of our jobs tracks is adopted, so two jobs with identical payloads adopt two
  different remote jobs; a job that cannot be compared in full makes the search
  inconclusive, and the fleet fails the job (``submit_unknown``) rather than create again.

The login token is shared by the fleet through Redis (:mod:`.auth`);
a 401 on a call renews it once and retries the call once.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote

import requests
from redis import Redis

from worker.credentials import Sealer, fingerprint
from worker.errors import AuthError, BadResponse, ConfigError, PermanentError
from worker.providers.base import setting
from worker.providers.http import HttpClient
from worker.providers.http_errors import parse_json
from worker.providers.matching import (
    iso_utc,
)
from worker.providers.openprotein import SPEC
from worker.providers.openprotein.auth import SharedToken
from worker.providers.openprotein.params import EmbedParams, MsaParams, job_params
from worker.providers.openprotein.records import (
    LIST_PAGE_SIZE,
    MSA_FILE,
    NAME,
    NPY_MAGIC,
    PLATFORM,
    bad,
    fasta_of,
    remote_status,
    unmark_seed,
)
from worker.providers.openprotein.search import OpenProteinSearch
from worker.providers.openprotein.settings import OpenProteinSettings
from worker.providers.paging import CreationWindow, listed, to_empty
from worker.providers.shared_find import SharedFind
from worker.providers.types import JobSpec, Listed, Outputs, RemoteStatus, Submission, Watched

log = logging.getLogger(__name__)

class OpenProteinProvider(OpenProteinSearch):
    """OpenProtein's align and embeddings services; one shared login for the fleet."""

    spec = SPEC  # finds by payload; see the module docstring

    def __init__(
        self,
        settings: OpenProteinSettings,
        http: HttpClient,
        *,
        redis: Redis | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.clock = clock
        username = setting(settings.username, "OPENPROTEIN_USERNAME", PLATFORM)
        setting(settings.password, "OPENPROTEIN_PASSWORD", PLATFORM)
        if redis is None:
            raise ConfigError("OpenProtein shares its login through Redis; no client was given")
        self._http = http
        self._token = SharedToken(
            http, redis, credential=fingerprint(NAME, settings),
            sealer=Sealer(NAME, settings), username=username, password=settings.password,
        )
        self.shared = SharedFind(redis, fingerprint(NAME, settings), NAME, clock)
        self._window = CreationWindow()  # where sweeps' ``more_recent_than`` opens

    def submit(self, job: JobSpec) -> Submission:
        """Creates the remote job in one attempt (a lost create cannot be found again)."""
        params = self.sent_payload(job)
        if isinstance(params, MsaParams):
            response = self._call(
                "POST", "v1/align/msa", params=params.query(),
                files={"msa_file": ("msa_file", params.fasta())}, idempotent=False,
            )
        else:
            response = self._create_embeddings(params)
        status = remote_status(parse_json(NAME, response))
        return Submission(remote_id=status.record["job_id"], status=status)

    def sent_payload(self, job: JobSpec) -> MsaParams | EmbedParams:
        """The job's params, checked: what the create sent, as compared on read-back."""
        params = job_params(job.kind, job.params)
        return params.marked(job.job_id) if isinstance(params, MsaParams) else params

    def status_record(self, remote_id: str, kind: str) -> Any:
        """One Job object."""
        return parse_json(NAME, self._call("GET", f"v1/jobs/{quote(remote_id, safe='')}"))

    def read_status(self, kind: str, record: Any) -> RemoteStatus:
        return remote_status(record)

    def record_id(self, kind: str, record: Any) -> Any:
        return record["job_id"]

    def sweep(self, watched: Sequence[Watched]) -> Iterator[list[Listed]]:
        """Our jobs created since the oldest watched one: ``GET v1/jobs?more_recent_than=…``
        with ``page_size``/``page_offset``, every status, read to an empty page.

        The window opens a little before the oldest watched job's creation, by the lag the
        rows' ``created_date`` showed (see :class:`CreationWindow`), so jobs long finished
        before it are not read again on every walk. One request covers up to
        ``LIST_PAGE_SIZE`` jobs. The list's order and largest page are undocumented, so a
        short page proves nothing and only an empty one ends the walk. Rows of jobs not
        watched are skipped unread.
        """
        query = {"more_recent_than": iso_utc(self._window.opens(watched)),
                 "page_size": LIST_PAGE_SIZE}
        wanted = {job.remote_id: job.since for job in watched}

        def fetch(offset: int) -> list[Mapping[str, Any]]:
            answer = parse_json(NAME, self._call("GET", "v1/jobs",
                                                 params={**query, "page_offset": offset}))
            if not isinstance(answer, list):
                raise bad("job list is not an array", answer)
            return [row for row in answer if isinstance(row, Mapping)]

        for rows in to_empty(fetch, lambda row: str(row.get("job_id"))):
            self._window.learn(rows, wanted, "job_id", "created_date")
            yield listed(rows, "job_id", remote_status, wanted=wanted)

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
        fasta = unmark_seed(fasta_of(self._call("GET", "v1/align/inputs", params=query,
                                                json_answer=False)))
        count = sum(1 for line in fasta.splitlines() if line.startswith(b">"))
        data = {"job_id": remote_id, "file": MSA_FILE, "num_sequences": count}
        return Outputs(data=data, files={MSA_FILE: fasta})

    def _embed_outputs(self, remote_id: str) -> Outputs:
        base = f"v1/embeddings/embed/{quote(remote_id, safe='')}"
        sequences = self._sequences(f"{base}/sequences")
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
