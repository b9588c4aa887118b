"""Reading Moderately AI's answers: execution records, statuses, failure reasons and outputs.

Pure functions over parsed JSON (and downloaded bytes), so every odd answer is unit-tested
without a server. Statuses are the six of the OpenAPI enum, spelled British (``cancelled``);
``paused`` is not terminal. Anything else is a ``BadResponse`` quoting the record.

:func:`execution_verdict` decides whether a listed execution is the one a lost create made
(see :mod:`.search`).
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from typing import Any

from config.settings import fleet_settings
from worker.errors import BadResponse, PermanentError
from worker.providers.base import bad_answer, normalise_status
from worker.providers.http_errors import MB, gunzip_bounded
from worker.providers.matching import Verdict, same
from worker.providers.moderately.params import AGENT, NAME, PIPELINE, carries_job_id
from worker.providers.types import RemoteState, RemoteStatus

STATES = {
    "pending": RemoteState.PENDING,
    "running": RemoteState.RUNNING,
    "paused": RemoteState.RUNNING,  # not terminal; the platform may resume it
    "completed": RemoteState.SUCCEEDED,
    "failed": RemoteState.FAILED,
    "cancelled": RemoteState.CANCELLED,
}
ID_KEYS = {AGENT: "agentExecutionId", PIPELINE: "pipelineExecutionId"}
CONFIG_KEYS = {AGENT: "agentConfigurationVersionId", PIPELINE: "pipelineConfigurationVersionId"}
SUMMARY_KEYS = {AGENT: "agentInputSummary", PIPELINE: "pipelineInputSummary"}
OUTPUT_SUFFIX = {"json": "json", "csv": "csv", "parquet": "parquet", "binary": "bin"}
OUTPUT_STEM = "pipeline-output"


def bad(message: str, answer: Any) -> BadResponse:
    """A ``BadResponse`` quoting the answer it could not use."""
    return bad_answer(NAME, message, answer)


def remote_status(kind: str, record: Any) -> RemoteStatus:
    """Normalises an execution record of ``kind``; raises ``BadResponse`` when unreadable."""
    return normalise_status(
        NAME, f"{kind} execution", record, required={ID_KEYS[kind]: str, "status": str},
        states=STATES, detail=lambda rec, state: failure_detail(kind, rec) if state.terminal
        else None,
    )


def failure_detail(kind: str, record: Mapping[str, Any]) -> str | None:
    """Why an execution failed or was cancelled, wherever the platform put it.

    A pipeline's reason is in ``progressData`` (``errors`` list, else ``error``, as the
    official client reads it; a cancel reason under ``cancelReason``); an agent's record
    has no error field, so its output summary (then, for a failure, its last thought)
    stands in.
    """
    if record.get("status") not in ("failed", "cancelled"):
        return None
    if kind == AGENT:
        return _agent_detail(record)
    progress = record.get("progressData")
    if not isinstance(progress, Mapping):
        return None
    errors = progress.get("errors")
    if isinstance(errors, list) and errors:
        return "; ".join(map(str, errors))
    for key in ("error", "cancelReason", "message"):
        if isinstance(progress.get(key), str) and progress[key]:
            return progress[key]
    return None


def _agent_detail(record: Mapping[str, Any]) -> str | None:
    text = record.get("agentOutputSummary")
    thoughts = record.get("thoughts")
    if not text and record.get("status") == "failed" and isinstance(thoughts, list) and thoughts:
        last = thoughts[-1]
        text = last.get("text") if isinstance(last, Mapping) else None
    return text if isinstance(text, str) and text else None


def s3_output(answer: Mapping[str, Any], raw: bytes) -> tuple[str, bytes]:
    """``(file name, bytes)`` of a downloaded S3 output, decompressed when it says gzip.

    ``metadata.fileSizeBytes``, when given, must match the bytes as downloaded or as
    decompressed (the document does not say which); a mismatch means a cut transfer.
    """
    metadata = answer.get("metadata")
    metadata = metadata if isinstance(metadata, Mapping) else {}
    compression = metadata.get("compressionType") or "none"
    if compression == "gzip":
        try:
            data = gunzip_bounded(NAME, raw, int(fleet_settings().max_response_mb * MB))
        except (OSError, EOFError, zlib.error) as exc:
            raise bad(f"output is not valid gzip ({exc})", dict(answer)) from exc
    elif compression == "none":
        data = raw
    else:
        raise PermanentError(f"output compression {compression!r} is not supported", provider=NAME)
    size = metadata.get("fileSizeBytes")
    if isinstance(size, int) and not isinstance(size, bool) and size not in (len(raw), len(data)):
        raise bad(f"output is {len(raw)} bytes, the platform said {size}", dict(answer))
    suffix = OUTPUT_SUFFIX.get(str(metadata.get("fileType") or "json"), "bin")
    return f"{OUTPUT_STEM}.{suffix}", data


def file_id_of(answer: Any) -> tuple[str, str]:
    """``(fileId, uploadUrl)`` from a ``POST /files/upload-url`` answer."""
    file = answer.get("file") if isinstance(answer, Mapping) else None
    file_id = file.get("fileId") if isinstance(file, Mapping) else None
    url = answer.get("uploadUrl") if isinstance(answer, Mapping) else None
    if not isinstance(file_id, str) or not isinstance(url, str):
        raise bad("upload-url answer without file.fileId and uploadUrl", answer)
    return file_id, url


def completed_file(record: Any, sha256: str) -> bool:
    """Whether ``record`` (a file object) is complete with the bytes of ``sha256``."""
    return (
        isinstance(record, Mapping)
        and record.get("uploadStatus") == "completed"
        and str(record.get("fileHash", "")).lower() == sha256.lower()
    )


def matching_file(answer: Any, sha256: str, name: str) -> str | None:
    """The id of a completed listed file with this hash, preferring one of the same name.

    Checked here too: a server that ignored the filter must not hand us other bytes.
    """
    items = answer.get("items") if isinstance(answer, Mapping) else None
    if not isinstance(items, list):
        raise bad("file list without an items array", answer)
    same = [
        item for item in items
        if isinstance(item, Mapping) and isinstance(item.get("fileId"), str)
        and completed_file(item, sha256)
    ]
    named = [item for item in same if item.get("fileName") == name]
    best = (named or same or [None])[0]
    return best["fileId"] if best else None


def listed_executions(kind: str, answer: Any) -> list[Mapping[str, Any]]:
    """The rows of an execution list page; raises ``BadResponse`` for any other shape."""
    items = answer.get("items") if isinstance(answer, Mapping) else None
    id_key = ID_KEYS[kind]
    if not isinstance(items, list) or not all(
        isinstance(row, Mapping) and isinstance(row.get(id_key), str) for row in items
    ):
        raise bad(f"{kind} execution list without an items array of {id_key}s", answer)
    return items


def has_next_page(answer: Mapping[str, Any], rows: int, page_size: int) -> bool:
    """``pagination.hasNextPage``; a full page when the platform left it out."""
    pagination = answer.get("pagination")
    flag = pagination.get("hasNextPage") if isinstance(pagination, Mapping) else None
    return flag if isinstance(flag, bool) else rows >= page_size


def execution_verdict(
    kind: str, row: Mapping[str, Any], body: Mapping[str, Any], job_id: str
) -> Verdict:
    """Whether listed execution ``row`` is the one created from ``body`` for ``job_id``.

    When the summary we send carries our job id, that decides: no one else writes it. When
    it could not (a caller's summary too long for the marker), every field we sent echoing
    back equal, canonically, is only a ``PAYLOAD`` match (adopted on opt-in); a field
    missing from the record leaves the answer unsure.
    """
    if row.get(CONFIG_KEYS[kind]) != body[CONFIG_KEYS[kind]]:
        return Verdict.DIFFERENT
    if carries_job_id(body[SUMMARY_KEYS[kind]], job_id):
        matched = carries_job_id(row.get(SUMMARY_KEYS[kind]), job_id)
        return Verdict.MATCH if matched else Verdict.DIFFERENT
    if any(key in row and not same(row[key], value) for key, value in body.items()):
        return Verdict.DIFFERENT
    return Verdict.PAYLOAD if all(key in row for key in body) else Verdict.UNSURE
