"""Reading one spec-file table field by field, with errors that name the field.

Every complaint is one line, ``<file>: <field>: <reason>``, raised as :class:`SpecError`,
so a bad spec stops the worker or ``jobfleet submit`` with exactly what to fix.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn

ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")
_TYPE_NAMES = {str: "a string", int: "an integer", bool: "true or false", dict: "a table",
               list: "an array"}


class SpecError(ValueError):
    """A spec file that cannot be used; the message is one line naming file and field."""


class Table:
    """One table of a spec file; ``where`` is its dotted name ("" at the top)."""

    def __init__(self, file: Path, data: Mapping[str, Any], where: str = "") -> None:
        self.file = file
        self.data = data
        self.where = where
        self._read: set[str] = set()

    def field(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def fail(self, key: str | None, reason: str) -> NoReturn:
        """Raises the one-line error for ``key`` (or the table itself)."""
        name = self.field(key) if key else (self.where or "(top level)")
        raise SpecError(f"{self.file}: {name}: {reason}")

    def has(self, key: str) -> bool:
        return key in self.data

    def get(self, key: str, kind: type, default: Any = None, *, required: bool = False) -> Any:
        """The value of ``key``, checked to be of ``kind``."""
        self._read.add(key)
        if key not in self.data:
            if required:
                self.fail(key, "is required")
            return default
        value = self.data[key]
        if isinstance(value, bool) and kind is not bool or not isinstance(value, kind):
            self.fail(key, f"must be {_TYPE_NAMES[kind]}, got {_shown(value)}")
        return value

    def text(self, key: str, default: str | None = None, *, required: bool = False) -> Any:
        """A non-empty string."""
        value = self.get(key, str, default, required=required)
        if value is not None and not value.strip():
            self.fail(key, "must not be empty")
        return value

    def choice(self, key: str, options: tuple[str, ...], default: str | None = None, *,
               required: bool = False) -> Any:
        """One of ``options``."""
        value = self.text(key, default, required=required)
        if value is not None and value not in options:
            self.fail(key, f"must be one of {', '.join(options)}, got {value!r}")
        return value

    def env_name(self, key: str, *, required: bool = False) -> Any:
        """The name of an environment variable (upper case, digits, underscores)."""
        value = self.text(key, required=required)
        if value is not None and not ENV_NAME.fullmatch(value):
            self.fail(key, f"must be an environment variable name like API_KEY, got {value!r}")
        return value

    def table(self, key: str, *, required: bool = False) -> Table | None:
        """A sub-table, or None when absent and not required."""
        value = self.get(key, dict, required=required)
        return None if value is None else Table(self.file, value, self.field(key))

    def done(self) -> None:
        """Refuses keys nobody asked for: a typo must not be silently ignored."""
        unknown = sorted(set(self.data) - self._read)
        if unknown:
            self.fail(unknown[0], "unknown field")


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    for kind, name in _TYPE_NAMES.items():
        if isinstance(value, kind):
            return f"{name} ({value!r})" if kind in (str, int) else name
    return type(value).__name__
