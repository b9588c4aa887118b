"""The one small interface every platform answers.

Tasks talk to this interface only; they never see URLs, payloads or status strings.
The base class owns the shared flows: the create's outcome as a value (:meth:`Provider.create`),
one status request checked and normalised (:meth:`Provider.status` over three hooks), bulk
status falling back to one request per job; find-by-payload is
:class:`worker.providers.payload_search.PayloadSearch`. A platform's provider fills in the hooks.
The values it takes and returns (``JobSpec``, ``RemoteStatus``, ``Outputs``…) are
:mod:`worker.providers.types`.

Every method may raise the :mod:`worker.errors` tree: ``TransientError`` (try later),
``PermanentError`` (fail the job now), ``AuthError`` (fail fast), ``BadResponse``.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pydantic import SecretStr

from worker.errors import BadResponse, ConfigError, ProviderError, UnsafeAnswer
from worker.providers.types import (
    Created,
    CreateOutcome,
    JobSpec,
    Listed,
    Outputs,
    Refused,
    RemoteState,
    RemoteStatus,
    Submission,
    Unknown,
    Watched,
)
from worker.results.names import UnsafeName, safe_file_name

if TYPE_CHECKING:
    from worker.providers.spec import PlatformSpec


SWEEP_CHUNK = 100  # jobs per bulk_status call in the default sweep


class Provider(ABC):
    """One platform. Instances are made once per worker process and shared by its threads.

    What the platform is and can do is its :class:`~worker.providers.spec.PlatformSpec`
    (a class attribute for a platform package, set per instance by the declarative one).
    """

    spec: PlatformSpec

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def kinds(self) -> frozenset[str]:
        return frozenset(self.spec.kinds)

    @property
    def supports_cancel(self) -> bool:
        return self.spec.capabilities.cancel

    @property
    def supports_find(self) -> bool:
        """Can find a remote job we created (by tag or by payload) after a lost answer."""
        return self.spec.capabilities.find

    @property
    def supports_upload(self) -> bool:
        """Can receive a result uploaded as a file."""
        return self.spec.capabilities.uploads

    @property
    def supports_list(self) -> bool:
        """Can report many jobs' statuses in one request: :meth:`sweep` works."""
        return self.spec.capabilities.bulk_list

    @abstractmethod
    def submit(self, job: JobSpec) -> Submission:
        """Creates the remote job. Raises ``OverBudget`` when a quote exceeds ``max_price``."""

    def create(self, job: JobSpec) -> CreateOutcome:
        """Creates the remote job and says what happened, as a value.

        A request the HTTP layer reports as unanswered (sent, no usable answer; see
        :mod:`worker.providers.http_errors`) may have created the job: ``Unknown``, search before
        another create. Any other failure (an error status, a failure before sending, params
        refused before any request) created nothing: ``Refused``. Other exceptions (a bug,
        a missing setting) propagate.
        """
        try:
            return Created(self.submit(job))
        except ProviderError as exc:
            return Unknown(exc) if exc.unanswered else Refused(exc)

    def find(
        self, job: JobSpec, taken: Callable[[str], bool] = lambda _: False
    ) -> Submission | None:
        """Looks up a remote job earlier created for ``job``; None when there is none.

        Used after a crash between the create request and recording its id, so that a job is
        never created twice. ``taken(remote_id)`` says a remote job is already tracked by
        another of our jobs (for platforms that can only match by payload). Only meaningful
        when ``supports_find`` is true.
        """
        return None

    def status(self, remote_id: str, kind: str) -> RemoteStatus:
        """Asks for one remote job's status: its record (:meth:`status_record`), normalised
        (:meth:`read_status`), and checked to be the job asked for (:meth:`record_id`); a
        record of another job is a ``BadResponse``. The raw record is kept on the status."""
        record = self.status_record(remote_id, kind)
        status = self.read_status(kind, record)
        if self.record_id(kind, record) != remote_id:
            raise bad_answer(self.name, f"asked for {remote_id}, got another job", record)
        return status

    def status_record(self, remote_id: str, kind: str) -> Any:
        """Hook: the platform's record of one job, as its status request answers it."""
        raise NotImplementedError(f"{self.name} reads no status records")

    def read_status(self, kind: str, record: Any) -> RemoteStatus:
        """Hook: a record (from a status request, a create or a list) as a ``RemoteStatus``;
        ``BadResponse`` when it cannot be read (see :func:`normalise_status`)."""
        raise NotImplementedError(f"{self.name} reads no status records")

    def record_id(self, kind: str, record: Any) -> Any:
        """Hook: the remote id a record read by :meth:`read_status` names."""
        raise NotImplementedError(f"{self.name} reads no status records")

    def bulk_status(self, jobs: Sequence[tuple[str, str]]) -> dict[str, RemoteStatus | Exception]:
        """Status of many ``(remote_id, kind)`` pairs; per-job errors are returned, not raised.

        The default asks one by one; a platform that can list many jobs at once overrides it.
        """
        out: dict[str, RemoteStatus | Exception] = {}
        for remote_id, kind in jobs:
            try:
                out[remote_id] = self.status(remote_id, kind)
            except Exception as exc:  # noqa: BLE001 - handed back to the caller per job
                out[remote_id] = exc
        return out

    def sweep(self, watched: Sequence[Watched]) -> Iterator[list[Listed]]:
        """Walks the platform's list pages that cover ``watched``, one page at a time.

        Yields each page's readable rows as ``(remote_id, status)``; rows of jobs not in
        ``watched`` may appear (ignored by the caller) or be left out, and a job not ended
        may come with a status that carries no record (the caller only notes it running).
        A page that cannot be read raises (``BadResponse``, ``TransientError``…): rows
        already yielded stay valid. Used only when ``supports_list`` is true. This default
        serves a platform whose :meth:`bulk_status` already lists many jobs per request: it
        asks about ``SWEEP_CHUNK`` jobs at a time and leaves out per-job errors (those jobs
        fall back to their own poll); a platform package overrides it with its list endpoint.
        """
        for start in range(0, len(watched), SWEEP_CHUNK):
            chunk = watched[start : start + SWEEP_CHUNK]
            answers = self.bulk_status([(job.remote_id, job.kind) for job in chunk])
            yield [(remote_id, status) for remote_id, status in answers.items()
                   if isinstance(status, RemoteStatus)]

    def cancel(self, remote_id: str, kind: str) -> None:
        """Asks the platform to stop the job; a no-op for a job already terminal."""
        raise NotImplementedError(f"{self.name} has no cancel endpoint")

    @abstractmethod
    def fetch_outputs(self, remote_id: str, kind: str, status: RemoteStatus) -> Outputs:
        """Reads a succeeded job's result and output files."""

    def read_outputs(self, remote_id: str, kind: str, status: RemoteStatus) -> Outputs:
        """:meth:`fetch_outputs`, every file name checked before it can touch a path.

        Whatever a platform calls its files, a name that is not one plain path component
        fails the job (``UnsafeAnswer``) instead of being stored or uploaded.
        """
        outputs = self.fetch_outputs(remote_id, kind, status)
        for name in outputs.files:
            try:
                safe_file_name(name, "output file name")
            except UnsafeName as exc:
                raise UnsafeAnswer(str(exc), provider=self.name) from None
        return outputs

    def find_upload(self, sha256: str, name: str) -> str | None:
        """The id of a file with these bytes uploaded earlier (looked up by hash), or None.

        Asked before every upload, so a worker that died between uploading and recording
        the id never uploads the same bytes twice.
        """
        raise NotImplementedError(f"{self.name} does not take uploads")

    def upload(
        self, name: str, data: bytes, sha256: str, *, job_id: str = "",
        fence: Callable[[], None] = lambda: None,
    ) -> str:
        """Uploads ``data`` as a file called ``name``; returns the platform's file id.

        ``fence()`` must be called before each part that changes something on the platform
        and right before the part that makes the file final; it raises ``LeaseLost`` once
        another worker has taken the step over, so a step that outlived its lease never
        completes a second file. ``job_id`` marks the upload where the platform keeps a
        marker, so whoever takes over can finish this upload instead of starting another.
        """
        raise NotImplementedError(f"{self.name} does not take uploads")

    def close(self) -> None:
        """Releases pooled connections at worker shutdown."""


def normalise_status(
    provider: str,
    what: str,
    record: Any,
    *,
    required: Mapping[str, type],
    states: Mapping[str, RemoteState],
    detail: Callable[[Mapping[str, Any], RemoteState], str | None],
) -> RemoteStatus:
    """A platform's record as a :class:`RemoteStatus`; ``BadResponse`` quoting the record
    when a ``required`` key is missing or of the wrong type, or its ``status`` is unknown.

    ``what`` names the record in messages ("execution", "job"); ``detail`` reads the failure
    reason, if any, from a well-formed record.
    """
    keys = ", ".join(required)
    if not isinstance(record, Mapping) or not all(
        isinstance(record.get(key), kind) for key, kind in required.items()
    ):
        raise bad_answer(provider, f"{what} record without {keys}", record)
    raw = record["status"]
    if raw not in states:
        raise bad_answer(provider, f"unknown {what} status {raw!r}", record)
    state = states[raw]
    return RemoteStatus(state=state, raw=raw, detail=detail(record, state), record=record)


def setting(value: str | SecretStr | None, variable: str, platform: str) -> str:
    """A required setting's value; ``ConfigError`` naming the variable (never a value)."""
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if not value:
        raise ConfigError(f"{variable} is not set; {platform} needs it")
    return value


def url_setting(value: str | None, variable: str, platform: str) -> str:
    """A required http(s) base URL."""
    url = setting(value, variable, platform)
    if urlsplit(url).scheme not in ("http", "https"):
        raise ConfigError(f"{variable} must be an http(s) URL")
    return url


def bad_answer(provider: str, message: str, answer: Any) -> BadResponse:
    """A ``BadResponse`` quoting the platform's answer (redacted and cut short by the error)."""
    return BadResponse(message, provider=provider, body=json.dumps(answer, default=str))
