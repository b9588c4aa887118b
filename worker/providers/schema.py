"""The shape of a job's ``params``, declared once per kind and checked when a job is submitted.

A platform's spec (:mod:`worker.providers.spec`) lists each kind's params as :class:`Param`
values. :class:`ParamsSchema` compiles them once into plain lookups, so checking a job line
costs a few dictionary reads per key, not a model build: ``jobfleet submit`` checks every
line before anything is enqueued, at tens of thousands of lines a second.

What is checked here is what a job line can get wrong without asking the platform: an
unknown key, a missing required key, a wrong JSON type, a value outside a documented range
or set. Official-client spellings (``tool_key`` for Deep Origin's ``tool``, Moderately's
snake_case arguments) are accepted as aliases and renamed to the field the API takes; a
spelling that means something else (Moderately's ``agent_id``) is refused with a hint that
names the right field. Finer rules (a sequence alphabet, a summary's length) stay with the
platform's params module, which the worker applies before its first request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# JSON type name → exactly the Python types json.loads makes for it: the fast check per value
_EXACT: dict[str, frozenset[type]] = {
    "string": frozenset({str}),
    "integer": frozenset({int}),
    "number": frozenset({int, float}),
    "boolean": frozenset({bool}),
    "object": frozenset({dict}),
    "array": frozenset({list}),
    "strings": frozenset({list}),
}
# JSON type name → the Python types that also count (a Mapping or tuple from Python callers)
_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict, Mapping),
    "array": (list, tuple),
    "strings": (list, tuple),  # an array of strings
    "any": (object,),
}


def json_type(value: Any) -> str:
    """The JSON name of ``value``'s type, for messages."""
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    for name in ("string", "integer", "number", "object", "array"):
        if isinstance(value, _TYPES[name]):
            return name
    return type(value).__name__


@dataclass(frozen=True)
class Param:
    """One key of a kind's params.

    ``aliases`` are other spellings accepted and renamed to ``name`` (the official clients'
    argument names); ``choices`` and ``minimum``/``maximum`` are the platform's documented
    limits; ``nullable`` lets ``null`` stand for "not given".
    """

    name: str
    type: str
    required: bool = False
    nullable: bool = False
    aliases: tuple[str, ...] = ()
    choices: tuple[Any, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    doc: str = ""

    def __post_init__(self) -> None:
        if self.type not in _TYPES:
            raise ValueError(f"param {self.name}: unknown type {self.type!r}")
        # what the hot path reads: no further work for a plain value of the exact type
        plain = not (self.choices or self.minimum is not None or self.maximum is not None)
        object.__setattr__(self, "_exact", _EXACT.get(self.type, frozenset()))
        object.__setattr__(self, "_plain", plain and self.type != "strings")

    def problem(self, value: Any) -> str | None:
        """What is wrong with ``value`` for this param, or None when it fits."""
        if type(value) in self._exact and self._plain:  # type: ignore[attr-defined]
            return None
        if value is None:
            return None if self.nullable else f"must be {self._article()}, got null"
        if self.type != "any" and (
            not isinstance(value, _TYPES[self.type])
            or (isinstance(value, bool) and self.type in ("integer", "number"))
        ):
            return f"must be {self._article()}, got {json_type(value)}"
        if self.type == "strings" and not all(type(item) is str for item in value):
            bad = next(i for i, item in enumerate(value) if not isinstance(item, str))
            return f"must be an array of strings; item {bad} is {json_type(value[bad])}"
        if self.choices and value not in self.choices:
            return f"must be one of {', '.join(map(repr, self.choices))}, got {value!r}"
        return self._range_problem(value)

    def _range_problem(self, value: Any) -> str | None:
        if self.minimum is not None and value < self.minimum:
            return f"must be at least {self.minimum:g}, got {value!r}"
        if self.maximum is not None and value > self.maximum:
            return f"must be at most {self.maximum:g}, got {value!r}"
        return None

    def _article(self) -> str:
        if self.type == "strings":
            return "an array of strings"
        if self.type == "any":
            return "a JSON value"
        return f"{'an' if self.type[0] in 'aeiou' else 'a'} {self.type}"


@dataclass(frozen=True)
class ParamsSchema:
    """A kind's params: their keys, types and official-client spellings, compiled once.

    ``hints`` maps a spelling that is *not* an alias to the message refusing it, for keys
    that look right but mean something else on the API.
    """

    params: tuple[Param, ...]
    hints: Mapping[str, str] = field(default_factory=dict)
    doc: str = ""

    def __post_init__(self) -> None:
        # key (name or alias) → (the API's name, the exact types that need no further check
        # or None, the param): one dictionary read per key of a job line
        by_key: dict[str, tuple[str, frozenset[type] | None, Param]] = {}
        for param in self.params:
            fast = param._exact if param._plain else None  # type: ignore[attr-defined]
            for key in (param.name, *param.aliases):
                if key in by_key:
                    raise ValueError(f"params key {key!r} declared twice")
                by_key[key] = (param.name, fast, param)
        object.__setattr__(self, "_by_key", by_key)
        object.__setattr__(self, "_required", tuple(p.name for p in self.params if p.required))

    @property
    def names(self) -> frozenset[str]:
        """The canonical keys (as the API spells them)."""
        return frozenset(p.name for p in self.params)

    def validate(self, params: Any, where: str = "") -> dict[str, Any]:
        """``params`` with aliases renamed to the API's names; ``ValueError`` naming the field.

        ``where`` (``"deeporigin/tool"``) goes into messages about unknown or missing keys.
        """
        if type(params) is not dict and not isinstance(params, Mapping):
            raise ValueError(f"'params' must be an object, got {json_type(params)}")
        by_key = self._by_key  # type: ignore[attr-defined]
        out: dict[str, Any] = {}
        for key, value in params.items():
            entry = by_key.get(key)
            if entry is None:
                raise ValueError(self._unknown(key, where))
            name, fast, param = entry
            if name in out:
                raise ValueError(f"params.{key} and params.{name} are the same field "
                                 "(an official-client spelling); give it once")
            if fast is None or type(value) not in fast:
                problem = param.problem(value)
                if problem is not None:
                    raise ValueError(f"params.{key} {problem}")
            out[name] = value
        for name in self._required:  # type: ignore[attr-defined]
            if name not in out:
                raise ValueError(f"params.{name} is required{_for(where)}")
        return out

    def _unknown(self, key: Any, where: str) -> str:
        if key in self.hints:
            return f"params.{key}: {self.hints[key]}"
        known = ", ".join(p.name for p in self.params)
        return f"unknown field params.{key}{_for(where)} (known: {known})"


def _for(where: str) -> str:
    return f" for {where}" if where else ""
