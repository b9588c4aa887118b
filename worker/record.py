"""The job record: one typed value, and its one encoding as a Redis hash.

A record is written by the producer (identity and options), then by the steps (state,
remote job, counters, outcome). Every field has one codec here, so nothing else in the
fleet knows that a flag is stored as ``"1"``, a float as its ``repr``, or ``params`` as
JSON. Writing a field as None deletes it from the hash (the Lua scripts read ``""`` as
"delete"); decoding ignores fields it does not know, so a record written by a newer
worker still reads in an older one.

State machine (terminal states are never left, but for one explicit exit)::

    queued ──► submitting ──► running ──► succeeded
       │            │            ├──────► failed
       │            │            └──────► cancelled
       └────────────┴──► failed / cancelled

    failed ──retry──► queued   a new attempt of the same key (``attempt`` + 1), only when no
                               remote job of the earlier attempt may still run
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

STEPS = ("submit", "poll", "finalize")  # the steps that have a due index
STATES = ("queued", "submitting", "running", "succeeded", "failed", "cancelled")
TERMINAL = frozenset({"succeeded", "failed", "cancelled"})
ACTIVE = tuple(s for s in STATES if s not in TERMINAL)
ALIVE = frozenset({"submitting", "running"})  # a remote job may exist: counts in flight
TIME_FIELD = "t_"  # t_{state}: when the job entered that state (set by the scripts)


# Fields that belong to one attempt: a retry clears them (identity, options, attempt stay).
ATTEMPT_FIELDS = (
    "lease_until", "cancel_requested", "submit_attempts", "create_started", "remote_id",
    "remote_state", "remote_done", "remote_detail", "remote_ended_at", "seen_ended_at",
    "polls", "next_poll", "deadline_at", "errors", "last_error", "result", "reason", "error",
    "file_id", "file_sha256", "file_to",
)


def make_job_id(batch: str, key: str) -> str:
    """Deterministic: the same client key in the same batch is always the same job."""
    return hashlib.sha256(f"{batch}\n{key}".encode()).hexdigest()[:24]


@dataclass(frozen=True, slots=True)
class Job:
    """A job record. Holds no credential; ``params`` are the platform's inputs."""

    # identity and options, written once by the producer
    id: str
    batch: str
    key: str
    provider: str
    kind: str
    params: Mapping[str, Any] = field(default_factory=dict)
    deadline_s: float | None = None
    max_price: float | None = None
    upload: Mapping[str, Any] | None = None  # {"to": platform, ...}: upload the result there
    # where the job is
    state: str = "queued"
    times: Mapping[str, float] = field(default_factory=dict)  # state → when entered
    lease_until: str | None = None  # the step lease's token (its expiry, as written)
    cancel_requested: bool = False
    attempt: int = 1  # 2, 3, ... after `jobfleet retry`; the remote tag carries it
    past_remote_ids: tuple[str, ...] = ()  # earlier attempts' remote jobs (still registered)
    # the remote job
    submit_attempts: int = 0
    create_started: float | None = None  # a create request may be out: search before another
    remote_id: str | None = None
    remote_state: str | None = None  # the platform's own status string
    remote_done: str | None = None  # the normalised terminal state, once seen: finalize next
    remote_detail: str | None = None
    remote_record: Mapping[str, Any] | None = None  # the ended job's listed row, for finalize
    remote_ended_at: float | None = None  # when the platform says it ended, if it says
    seen_ended_at: float | None = None  # when our poll saw it ended (detection delay)
    # waiting and retrying
    polls: int = 0
    next_poll: float | None = None
    deadline_at: float | None = None
    errors: int = 0  # consecutive failed attempts of the current step
    last_error: str | None = None
    # the outcome
    result: str | None = None  # where the result store put the outputs
    reason: str | None = None
    error: str | None = None
    file_id: str | None = None
    file_sha256: str | None = None
    file_to: str | None = None

    @classmethod
    def new(cls, batch: str, key: str, provider: str, kind: str,
            params: Mapping[str, Any], **options: Any) -> Job:
        """A record about to be enqueued; its id follows from ``batch`` and ``key``."""
        return cls(id=make_job_id(batch, key), batch=batch, key=key, provider=provider,
                   kind=kind, params=params, **options)

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL

    @property
    def remote_tag(self) -> str:
        """What the platform's remote job is tagged with, to find it again after a lost
        answer: the job id, plus the attempt after a retry (an earlier attempt's remote job
        must never be adopted by a later one)."""
        return self.id if self.attempt <= 1 else f"{self.id}-{self.attempt}"

    def public(self) -> dict[str, Any]:
        """The record as shown to users (results, status of one job)."""
        out: dict[str, Any] = {
            "id": self.id, "key": self.key, "batch": self.batch, "provider": self.provider,
            "kind": self.kind, "state": self.state, "remote_id": self.remote_id,
        }
        if self.result:
            out["result"] = self.result
        if self.error:
            out["error"] = self.error
            out["reason"] = self.reason
        if self.file_id:
            out["file_id"] = self.file_id
        if self.attempt > 1:
            out["attempt"] = self.attempt
        out["times"] = dict(self.times)
        return out


Codec = tuple[Callable[[Any], str], Callable[[str], Any]]  # (encode, decode)

TEXT: Codec = (str, str)
INT: Codec = (lambda v: str(int(v)), int)
FLOAT: Codec = (lambda v: repr(float(v)), float)
FLAG: Codec = (lambda v: "1" if v else "", lambda s: s == "1")
_COMPACT = json.JSONEncoder(separators=(",", ":"))  # made once: encoding is on the enqueue path
JSON: Codec = (_COMPACT.encode, json.loads)

CODECS: dict[str, Codec] = {
    "id": TEXT, "batch": TEXT, "key": TEXT, "provider": TEXT, "kind": TEXT, "params": JSON,
    "deadline_s": FLOAT, "max_price": FLOAT, "upload": JSON, "state": TEXT,
    "lease_until": TEXT, "cancel_requested": FLAG, "submit_attempts": INT,
    "create_started": FLOAT, "remote_id": TEXT, "remote_state": TEXT, "remote_done": TEXT,
    "remote_detail": TEXT, "remote_record": JSON, "remote_ended_at": FLOAT,
    "seen_ended_at": FLOAT,
    "polls": INT, "next_poll": FLOAT, "deadline_at": FLOAT, "attempt": INT,
    "past_remote_ids": (lambda v: json.dumps(list(v)), lambda s: tuple(json.loads(s))),
    "errors": INT, "last_error": TEXT, "result": TEXT, "reason": TEXT, "error": TEXT,
    "file_id": TEXT, "file_sha256": TEXT, "file_to": TEXT,
}


def encode_value(name: str, value: Any) -> str:
    """One field as stored; ``""`` (what None and False become) means "delete the field"."""
    try:
        encode = CODECS[name][0]
    except KeyError:
        raise TypeError(f"a job record has no field {name!r}") from None
    return "" if value is None else encode(value)


def encode_changes(changes: Mapping[str, Any]) -> list[str]:
    """Field/value pairs, flat, as the Lua scripts take them (``""`` deletes)."""
    flat: list[str] = []
    for name, value in changes.items():
        flat += [name, encode_value(name, value)]
    return flat


def encode(job: Job) -> list[str]:
    """A new record's fields, flat, skipping those at their default (never stored)."""
    flat: list[str] = []
    for name, default, write in _STORED:
        value = getattr(job, name)
        if value is not None and value != default:
            stored = write(value)
            if stored != "":
                flat += [name, stored]
    return flat


def decode_value(name: str, stored: str | None) -> Any:
    """One field as read back alone; None when it is absent."""
    return None if stored in (None, "") else CODECS[name][1](stored)


def encode_json(job: Job) -> str:
    """:func:`encode` as one JSON object of strings: how the create script takes a record."""
    flat = encode(job)
    return json.dumps(dict(zip(flat[::2], flat[1::2])), separators=(",", ":"),
                      ensure_ascii=False)


def decode(raw: Mapping[str, str]) -> Job:
    """A record read from Redis; ``ValueError`` names the field that cannot be read."""
    values: dict[str, Any] = {}
    times: dict[str, float] = {}
    for name, stored in raw.items():
        if name.startswith(TIME_FIELD) and name[len(TIME_FIELD):] in STATES:
            times[name[len(TIME_FIELD):]] = float(stored)
        elif name in CODECS and stored != "":
            try:
                values[name] = CODECS[name][1](stored)
            except ValueError as exc:
                raise ValueError(f"job record field {name!r}: {exc}") from None
    return Job(times=times, **values)


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return dataclasses.MISSING


# (name, default, encoder) of every field a new record may store; computed once, as encoding
# is on the enqueue path. The state and its times are written by the scripts.
_STORED = tuple((f.name, _default(f), CODECS[f.name][0]) for f in dataclasses.fields(Job)
                if f.name not in ("times", "state"))
