"""Job lines: parsing and validation, with errors that name the line and the reason.

A job line is one JSON object::

    {"key": "dock-42", "provider": "deeporigin", "kind": "tool",
     "params": {"tool": "deeporigin.docking", "inputs": {...}},
     "deadline_s": 3600, "max_price": 5.0}

``key`` is the client's idempotency key, unique within a batch. Validation here is what
can be checked without a platform: the fields above, and ``params`` against the platform's
spec (:mod:`worker.providers`: known keys, JSON types, documented ranges; official-client
spellings renamed to the API's). The worker checks the rest and fails the job with the
platform's reason.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from worker.providers import PlatformSpec, UnknownProvider, get_spec, specs

REQUIRED = ("key", "provider", "kind", "params")
OPTIONAL = ("deadline_s", "max_price", "upload")
_FIELDS = frozenset(REQUIRED + OPTIONAL)
UPLOAD_KEYS = ("to", "name", "file")
MAX_KEY_CHARS = 200  # keys are shown in tables and logs
MAX_PARAMS_BYTES = 64 * 1024  # params live in Redis with the job; big inputs belong in files
ESCAPED_CHAR_BYTES = 12  # the most one character becomes in JSON: a \uXXXX surrogate pair


class InvalidJob(ValueError):
    """One or more jobs failed validation; ``problems`` lists them."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass(frozen=True)
class LineError:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


def validate(job: Any, line_chars: int | None = None) -> dict[str, Any]:
    """Checks one job object; returns a normalised copy or raises ``ValueError(reason)``.

    ``line_chars``, the length of the line it was read from, lets a short line skip
    measuring its params: they cannot be longer than the line.
    """
    _check_fields(job)
    key, provider, kind, params = job["key"], job["provider"], job["kind"], job["params"]
    if not isinstance(key, str) or not key.strip():
        raise ValueError("'key' must be a non-empty string")
    if len(key) > MAX_KEY_CHARS:
        raise ValueError(f"'key' is longer than {MAX_KEY_CHARS} characters")
    out = {"key": key, "provider": provider, "kind": kind,
           "params": _check_params(provider, kind, params, line_chars)}
    if job.get("deadline_s") is not None:
        out["deadline_s"] = _number(job["deadline_s"], "deadline_s", allow_zero=False)
    if job.get("max_price") is not None:
        out["max_price"] = _number(job["max_price"], "max_price", allow_zero=True)
    if job.get("upload") is not None:
        out["upload"] = _upload(job["upload"])
    return out


def _upload(spec: Any) -> dict[str, str]:
    """``{"to": platform, "name"?: file name, "file"?: which output file}``."""
    if not isinstance(spec, Mapping):
        raise ValueError(f"'upload' must be an object, got {_type(spec)}")
    unknown = sorted(set(spec) - set(UPLOAD_KEYS))
    if unknown:
        raise ValueError(f"unknown upload field{'s' if len(unknown) > 1 else ''}: "
                         f"{', '.join(unknown)}")
    targets = upload_targets()
    if spec.get("to") not in targets:
        raise ValueError(f"upload.to must be one of {', '.join(targets)}, "
                         f"got {spec.get('to')!r}")
    for name in ("name", "file"):
        if name in spec and (not isinstance(spec[name], str) or not spec[name].strip()):
            raise ValueError(f"upload.{name} must be a non-empty string")
    return dict(spec)


def _check_fields(job: Any) -> None:
    if type(job) is not dict and not isinstance(job, Mapping):
        raise ValueError(f"expected a JSON object, got {_type(job)}")
    missing = [f for f in REQUIRED if f not in job]
    if missing:
        raise ValueError(f"missing field{'s' if len(missing) > 1 else ''}: {', '.join(missing)}")
    unknown = sorted(job.keys() - _FIELDS)
    if unknown:
        raise ValueError(f"unknown field{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}")


def upload_targets() -> tuple[str, ...]:
    """The platforms that take a result as a file (their spec says ``uploads``)."""
    return tuple(name for name, spec in specs().items() if spec.capabilities.uploads)


def _check_params(
    provider: Any, kind: Any, params: Any, line_chars: int | None = None
) -> dict[str, Any]:
    """``params`` checked against the platform's spec, official-client spellings renamed."""
    platform = _platform(provider)
    checked = platform.validate_params(kind, params)
    if line_chars is not None and line_chars * ESCAPED_CHAR_BYTES <= MAX_PARAMS_BYTES:
        return checked  # even every character escaped, params within the line fit
    size = len(json.dumps(checked, separators=(",", ":")).encode())
    if size > MAX_PARAMS_BYTES:
        raise ValueError(f"params are {size} bytes, over the limit of {MAX_PARAMS_BYTES}")
    return checked


def _platform(provider: Any) -> PlatformSpec:
    if not isinstance(provider, str):
        raise ValueError(f"'provider' must be a string, got {_type(provider)}")
    try:
        return get_spec(provider)
    except UnknownProvider as exc:
        raise ValueError(str(exc)) from None


def parse_lines(lines: Iterable[bytes | str]) -> tuple[list[dict[str, Any]], list[LineError]]:
    """Parses JSONL; returns the valid jobs and one error per bad line (blank lines skipped).

    A key seen again within the input is an error on the later line; the first one stands.
    A spec file that cannot be used raises ``SpecError`` here, once, before any line.
    """
    specs()
    jobs: list[dict[str, Any]] = []
    errors: list[LineError] = []
    first_seen: dict[str, int] = {}
    for number, raw in enumerate(lines, start=1):
        try:
            text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        except UnicodeDecodeError as exc:
            errors.append(LineError(number, f"not valid UTF-8 (byte {exc.start})"))
            continue
        if not text.strip():
            continue
        try:
            job = validate(json.loads(text), len(text))
        except RecursionError:
            errors.append(LineError(number, "JSON nested too deeply"))
            continue
        except json.JSONDecodeError as exc:
            errors.append(LineError(number, f"invalid JSON: {exc.msg} at column {exc.colno}"))
            continue
        except ValueError as exc:
            errors.append(LineError(number, str(exc)))
            continue
        if job["key"] in first_seen:
            errors.append(LineError(number, f"duplicate key {job['key']!r} "
                                            f"(first on line {first_seen[job['key']]})"))
            continue
        first_seen[job["key"]] = number
        jobs.append(job)
    return jobs, errors


def _number(value: Any, name: str, *, allow_zero: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"'{name}' must be a number, got {_type(value)}")
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"'{name}' must be a finite number {bound}, got {value}")
    return float(value)


def _type(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean",
            type(None): "null"}.get(type(value), type(value).__name__)
