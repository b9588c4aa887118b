"""Placeholders in request templates, and dotted paths into answers.

A template is any TOML value. Inside it, a string that is exactly ``"{name}"`` becomes the
value of ``name`` whatever its type (an object stays an object), ``"{name?}"`` drops its key
(or list item) when there is no such value, and ``"text {name}"`` is formatted into text.
Names: ``job_id``, ``kind``, ``remote_id`` and ``params.NAME[.more]``.

A path such as ``task.problem.reason`` reads nested objects (a number steps into a list).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.-]*)(\?)?\}")
SCALARS = ("job_id", "kind", "remote_id")
_MISSING = object()


class Missing(KeyError):
    """A required placeholder has no value for this job."""


def placeholders(template: Any) -> list[tuple[str, bool]]:
    """Every ``(name, optional)`` in a template, in order."""
    if isinstance(template, str):
        return [(m.group(1), bool(m.group(2))) for m in PLACEHOLDER.finditer(template)]
    if isinstance(template, Mapping):
        return [p for value in template.values() for p in placeholders(value)]
    if isinstance(template, list):
        return [p for value in template for p in placeholders(value)]
    return []


def known_name(name: str) -> bool:
    """Whether ``name`` is a placeholder the provider can fill."""
    return name in SCALARS or (name.startswith("params.") and len(name) > len("params."))


def render(template: Any, values: Mapping[str, Any]) -> Any:
    """The template with its placeholders filled; raises ``Missing`` for a required one."""
    result = _render(template, values)
    return None if result is _MISSING else result


def _render(template: Any, values: Mapping[str, Any]) -> Any:
    if isinstance(template, str):
        return _string(template, values)
    if isinstance(template, Mapping):
        out = {key: _render(value, values) for key, value in template.items()}
        return {key: value for key, value in out.items() if value is not _MISSING}
    if isinstance(template, list):
        return [item for item in (_render(v, values) for v in template) if item is not _MISSING]
    return template


def _string(text: str, values: Mapping[str, Any]) -> Any:
    whole = PLACEHOLDER.fullmatch(text)
    if whole:
        value = lookup(values, whole.group(1))
        if value is _MISSING:
            if whole.group(2):
                return _MISSING
            raise Missing(whole.group(1))
        return value

    def one(match: re.Match[str]) -> str:
        value = lookup(values, match.group(1))
        if value is _MISSING:
            if match.group(2):
                return ""
            raise Missing(match.group(1))
        return str(value)

    return PLACEHOLDER.sub(one, text)


def lookup(values: Mapping[str, Any], name: str) -> Any:
    """``values`` read along the dotted ``name``; the ``_MISSING`` sentinel when absent."""
    node: Any = values
    for part in name.split("."):
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _MISSING
    return node


def read_path(answer: Any, path: str) -> tuple[bool, Any]:
    """``(found, value)`` at a dotted path in an answer."""
    value = lookup({"": answer}, f".{path}") if path else answer
    return (value is not _MISSING, None if value is _MISSING else value)
