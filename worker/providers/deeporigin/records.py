"""Deep Origin's answers read: execution records, quotes, output file keys; all pure.

Kept apart from :mod:`.provider` (which does the HTTP) so each piece can be tested on its
own; the request side is :mod:`.params`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, NoReturn

from worker.errors import BadResponse, PermanentError, UnsafeAnswer
from worker.providers.base import bad_answer, normalise_status
from worker.providers.paging import still_running
from worker.providers.types import RemoteState, RemoteStatus
from worker.results.names import UnsafeName, safe_file_name

NAME = "deeporigin"
PLATFORM = "Deep Origin"  # as named in messages
V2_ACCEPT = "application/json;v=2.0"  # the v2 execution DTO, as the official client asks
FIND_PAGE_SIZE = 10  # one session tag matches one execution; room for strays if unfiltered
LIST_PAGE_SIZE = 1000  # the official client's page size; the platform allows up to 10,000

_REQUIRED = {"executionId": str, "status": str, "tool": Mapping}
_STATES = {
    "Quoted": RemoteState.QUOTED,
    "Created": RemoteState.PENDING,
    "Queued": RemoteState.PENDING,
    "Running": RemoteState.RUNNING,
    "Completed": RemoteState.SUCCEEDED,
    "Succeeded": RemoteState.SUCCEEDED,  # legacy spelling, still emitted by some tools
    "Failed": RemoteState.FAILED,
    "FailedQuotation": RemoteState.FAILED,
    "InsufficientFunds": RemoteState.FAILED,
    "Cancelled": RemoteState.CANCELLED,
}


def reject(message: str) -> NoReturn:
    raise PermanentError(message, provider=NAME)


def bad(message: str, answer: Any) -> BadResponse:
    return bad_answer(NAME, message, answer)


def remote_status(record: Any) -> RemoteStatus:
    """Normalises an execution DTO; one we cannot read raises ``BadResponse`` quoting it."""
    return normalise_status(NAME, "execution", record, required=_REQUIRED, states=_STATES,
                            detail=lambda rec, _: status_reason(rec))


# A list row of an execution not yet ended, well-formed: its status without the record (a
# sweep only notes it as running); None sends the row to :func:`remote_status` in full.
running_row = still_running(_REQUIRED, _STATES)


def status_reason(record: Mapping[str, Any]) -> str | None:
    """The platform's reason for a status, which may be a string or an object."""
    reason = record.get("statusReason")
    if not reason:
        return None
    if isinstance(reason, Mapping):
        text = reason.get("message") or reason.get("detail")
        code = reason.get("code")
        if isinstance(text, str):
            return f"{text} ({code})" if code else text
    return reason if isinstance(reason, str) else json.dumps(reason, default=str)


def quoted_price(record: Mapping[str, Any]) -> float | None:
    """Σ ``quotationResult.successfulQuotations[].priceTotal``; None without a readable quote."""
    quotation = record.get("quotationResult")
    quotes = quotation.get("successfulQuotations") if isinstance(quotation, Mapping) else None
    if not isinstance(quotes, list):
        return None
    prices = [q.get("priceTotal") if isinstance(q, Mapping) else None for q in quotes]
    if not all(isinstance(p, (int, float)) and not isinstance(p, bool) for p in prices):
        return None
    return float(sum(prices))


def output_file_keys(outputs: Any) -> list[str]:
    """File keys anywhere in ``jobOutputs``: strings under ``file_path`` or ``*_file_path``."""
    return list(dict.fromkeys(_walk_file_keys(outputs)))


def _walk_file_keys(node: Any) -> Iterator[str]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            if isinstance(value, str):
                if key == "file_path" or str(key).endswith("_file_path"):
                    yield value
            else:
                yield from _walk_file_keys(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk_file_keys(item)


def normalise_key(key: str) -> str:
    """A file key as the platform stores it: forward slashes, no leading or doubled ``/``."""
    parts = [p for p in key.replace("\\", "/").split("/") if p]
    if not parts or ".." in parts or "\x00" in key:
        reject(f"invalid file key {key!r}")
    return "/".join(parts)


def output_file_name(key: str) -> str:
    """The name an output file goes by on our side: the last part of its key.

    A key that climbs (``..``) or whose last part is no plain file name is an
    ``UnsafeAnswer``: it never reaches a path, and the job fails saying which key it was.
    """
    parts = key.replace("\\", "/").split("/")
    try:
        if ".." in parts:
            raise UnsafeName(f"unsafe output file key {key!r}: climbs out of its folder")
        return safe_file_name(parts[-1], "output file name")
    except UnsafeName as exc:
        raise UnsafeAnswer(str(exc), provider=NAME) from None


def tagged(row: Any, job_id: str) -> bool:
    """Whether a listed execution is the one we created for ``job_id``."""
    if not isinstance(row, Mapping):
        return False
    metadata = row.get("metadata")
    return row.get("session") == job_id or (
        isinstance(metadata, Mapping) and metadata.get("jobfleet_job_id") == job_id
    )


def upload_dir(sha256: str) -> str:
    return f"jobfleet/uploads/{sha256}"


def safe_name(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")
    return cleaned or "result"


def iso_ms(timestamp: float) -> str:
    """Epoch seconds as the official client formats ``createdAt`` filters: UTC, ms, ``Z``."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
