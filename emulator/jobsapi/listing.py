"""``GET /v2/tasks``: cursor pages of tasks in submission order, with filters.

Query: ``limit`` (1-100, default 25), ``cursor`` (opaque, from the previous page's
``next_cursor``), and any of ``token`` (comma-separated, at most 100), ``condition``
(comma-separated conditions), ``idempotency_key``, ``template``, ``label`` (``name:value``,
a task whose labels hold that pair). The answer is
``{"items": [...], "next_cursor": str | null}``; ``null`` means the last page. A cursor
names the last task shown, so tasks created while a client pages are never skipped.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from emulator.clock import JobRecord
from emulator.jobsapi.wire import CONDITIONS

DEFAULT_LIMIT = 25
MAX_LIMIT = 100
MAX_TOKENS = 100  # tokens one request may name: keeps the URL well under common limits


class ListError(ValueError):
    """A query the API refuses with 400."""


@dataclass(frozen=True)
class TaskQuery:
    """One parsed listing request."""

    limit: int
    after: int  # the sequence number of the last task already shown (-1: from the start)
    tokens: frozenset[str] | None
    conditions: frozenset[str] | None
    idempotency_key: str | None
    template: str | None
    label: tuple[str, str] | None = None

    def run(
        self,
        ordered: Sequence[JobRecord],
        by_token: Mapping[str, JobRecord],
        condition_of: Callable[[JobRecord], str],
        visible: Callable[[JobRecord], bool],
    ) -> tuple[list[JobRecord], str | None]:
        """This page's tasks (of those ``visible`` to the caller) and the cursor of the next
        page (None on the last)."""
        if self.tokens is not None:
            rows: Iterable[JobRecord] = sorted(
                (by_token[t] for t in self.tokens if t in by_token), key=lambda j: j.data.seq)
            rows = [j for j in rows if j.data.seq > self.after]
        else:
            # a task's seq is its index in ``ordered``: no scan of the tasks already shown
            rows = (ordered[i] for i in range(self.after + 1, len(ordered)))
        page: list[JobRecord] = []
        for job in rows:
            if visible(job) and self._keeps(job, condition_of):
                if len(page) == self.limit:
                    return page, encode_cursor(page[-1].data.seq)
                page.append(job)
        return page, None

    def _keeps(self, job: JobRecord, condition_of: Callable[[JobRecord], str]) -> bool:
        task = job.data
        if job.plan.unlisted:  # the `unlisted` override: only its own GET shows it
            return False
        if self.idempotency_key is not None and task.idempotency_key != self.idempotency_key:
            return False
        if self.template is not None and task.template != self.template:
            return False
        if self.label is not None and task.labels.get(self.label[0]) != self.label[1]:
            return False
        return self.conditions is None or condition_of(job) in self.conditions


def parse_query(query: Mapping[str, str]) -> TaskQuery:
    """Reads the listing parameters; raises ``ListError`` naming the bad one."""
    limit_text = query.get("limit", str(DEFAULT_LIMIT))
    if not limit_text.isdigit() or not 1 <= int(limit_text) <= MAX_LIMIT:
        raise ListError(f"limit must be an integer 1-{MAX_LIMIT}")
    tokens = _csv(query.get("token"))
    if tokens is not None and len(tokens) > MAX_TOKENS:
        raise ListError(f"at most {MAX_TOKENS} tokens per request")
    conditions = _csv(query.get("condition"))
    if conditions is not None and not conditions <= CONDITIONS:
        unknown = ", ".join(sorted(conditions - CONDITIONS))
        raise ListError(f"unknown condition(s): {unknown}")
    label = query.get("label")
    if label is not None and ":" not in label:
        raise ListError("label must be name:value")
    return TaskQuery(
        limit=int(limit_text),
        after=decode_cursor(query.get("cursor")),
        tokens=tokens,
        conditions=conditions,
        idempotency_key=query.get("idempotency_key") or None,
        template=query.get("template") or None,
        label=tuple(label.split(":", 1)) if label is not None else None,  # type: ignore[arg-type]
    )


def encode_cursor(seq: int) -> str:
    """An opaque cursor for "after task number ``seq``"."""
    return base64.urlsafe_b64encode(f"after:{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    """The sequence number a cursor stands for; -1 without one; ``ListError`` if forged."""
    if not cursor:
        return -1
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ListError("cursor is not one this API issued") from exc
    prefix, _, number = text.partition(":")
    if prefix != "after" or not number.isdigit():
        raise ListError("cursor is not one this API issued")
    return int(number)


def _csv(text: str | None) -> frozenset[str] | None:
    if text is None:
        return None
    return frozenset(part.strip() for part in text.split(",") if part.strip())
