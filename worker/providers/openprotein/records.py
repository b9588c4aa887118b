"""OpenProtein's wire format: job records, FASTA and listings, read without any HTTP.

Kept apart from :mod:`worker.providers.openprotein` (which does the HTTP and the shared login)
so each piece can be tested on its own. Wire protocol: as ``openprotein-python`` speaks it.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from typing import Any

import requests

from worker.errors import BadResponse
from worker.providers.base import bad_answer, normalise_status
from worker.providers.types import RemoteState, RemoteStatus

NAME = "openprotein"
PLATFORM = "OpenProtein"  # as named in messages
# The job types a create of each kind answers with (an embedding may come back reduced).
JOB_TYPES = {"msa": ("/align/align",), "embed": ("/embeddings/embed", "/embeddings/embed_reduced")}
LIST_PAGE_SIZE = 100  # what the official client always sends; the server's cap is unknown
MSA_FILE = "msa.fasta"
SEED_MARKER_PREFIX = "jobfleet-"  # a seed we named after its job: ``jobfleet-<job id>``
DEFAULT_SEED_NAME = "seed"  # what the official client calls a seed, and so do our results
_SEED_MARKER = re.compile(  # our job id (24 hex), plus the attempt after a retry
    rb"\A>" + re.escape(SEED_MARKER_PREFIX.encode()) + rb"[0-9a-f]{24}(?:-[0-9]+)?\r?\n")
FASTA_TYPE = "text/x-fasta"  # anything else is CSV to the official client, and to us
NPY_MAGIC = b"\x93NUMPY"
_REQUIRED = {"job_id": str, "job_type": str, "status": str}
_STATES = {
    "PENDING": RemoteState.PENDING,
    "RETRYING": RemoteState.PENDING,  # the platform re-runs it after an internal failure
    "RUNNING": RemoteState.RUNNING,
    "SUCCESS": RemoteState.SUCCEEDED,
    "FAILURE": RemoteState.FAILED,
    "CANCELED": RemoteState.CANCELLED,
}


def bad(message: str, answer: Any) -> BadResponse:
    return bad_answer(NAME, message, answer)


def remote_status(record: Any) -> RemoteStatus:
    """Normalises a Job object; one we cannot read raises ``BadResponse`` quoting it."""
    return normalise_status(NAME, "job", record, required=_REQUIRED, states=_STATES,
                            detail=_failure_message)


def _failure_message(record: Mapping[str, Any], state: RemoteState) -> str | None:
    reason = record.get("failure_message") if state is RemoteState.FAILED else None
    return reason if isinstance(reason, str) and reason else None


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


def unmark_seed(fasta: bytes) -> bytes:
    """The MSA with our job marker in the seed's name put back to ``seed``: the name only
    served to find a lost create, and results stay the same whichever job produced them."""
    return _SEED_MARKER.sub(f">{DEFAULT_SEED_NAME}\n".encode(), fasta, count=1)


def fasta_records(fasta: bytes) -> list[tuple[str, str]]:
    """``(name, sequence)`` records of FASTA text, read as the official client reads it."""
    records: list[tuple[str, list[str]]] = []
    for raw in fasta.decode("utf-8", "replace").splitlines():
        line = raw.strip()
        if line.startswith(">"):
            records.append((line[1:].strip(), []))
        elif line and not line.startswith("#") and records:
            records[-1][1].append(line)
    return [(name, "".join(parts)) for name, parts in records]


def listed_jobs(answer: Any) -> list[Mapping[str, Any]]:
    """The Job objects of a ``v1/jobs`` page (a bare array); ``BadResponse`` otherwise."""
    if not isinstance(answer, list):
        raise bad("job list is not an array", answer)
    for record in answer:
        remote_status(record)  # every row must be a readable Job
    return answer
