"""Per-provider knobs: fault rates, latency and the job-clock profile.

One `ProviderSettings` object exists per provider. It starts from the CLI defaults, may be
overridden per provider at start-up (`--set deeporigin.fault_5xx=0.1`), and may be changed at
run time through `POST /_emulator/config`. The same key names are used in all three places,
so a chaos script can move a setting between them without translating names.

Settings are immutable values; a change builds a new object (`updated`), so a request that is
half-way through never sees a mix of old and new values.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

DURATION_KINDS = ("uniform", "fixed", "exp")
# Remote jobs in the wild take seconds to minutes; 2-8 s keeps demos lively without spinning.
DEFAULT_DURATION = "uniform:2,8"
FAULT_RATE_KEYS = ("fault_5xx", "fault_429", "fault_drop", "fault_slow", "fault_garbage")
# Hostile answers (emulator/hostile.py): not drawn at random, every matching answer gets them.
HOSTILE_MODES = ("huge_body", "redirect", "file_name", "presign_elsewhere")
TEXT_KEYS = ("hostile", "hostile_url", "hostile_name")


class SettingsError(ValueError):
    """A setting name or value was rejected; the message names the offending key."""


@dataclass(frozen=True)
class DurationSpec:
    """How long a remote job runs: `uniform:a,b`, `fixed:x` or `exp:mean` (seconds)."""

    kind: str
    low: float
    high: float = 0.0

    @classmethod
    def parse(cls, text: str) -> DurationSpec:
        """Parse the CLI form; raises SettingsError on anything malformed or negative."""
        kind, _, rest = str(text).partition(":")
        try:
            numbers = [float(part) for part in rest.split(",")] if rest else []
        except ValueError as exc:
            raise SettingsError(f"duration: bad number in {text!r}") from exc
        if any(not math.isfinite(n) or n < 0 for n in numbers):
            raise SettingsError(f"duration: values must be finite and >= 0 in {text!r}")
        if kind == "uniform" and len(numbers) == 2 and numbers[0] <= numbers[1]:
            return cls("uniform", numbers[0], numbers[1])
        if kind in ("fixed", "exp") and len(numbers) == 1:
            return cls(kind, numbers[0])
        raise SettingsError(
            f"duration: expected uniform:LOW,HIGH | fixed:SECONDS | exp:MEAN, got {text!r}"
        )

    def sample(self, rng: random.Random) -> float:
        """Draw one duration in seconds."""
        if self.kind == "uniform":
            return rng.uniform(self.low, self.high)
        if self.kind == "exp":
            return rng.expovariate(1.0 / self.low) if self.low > 0 else 0.0
        return self.low

    def __str__(self) -> str:
        if self.kind == "uniform":
            return f"uniform:{self.low:g},{self.high:g}"
        return f"{self.kind}:{self.low:g}"


@dataclass(frozen=True)
class ProviderSettings:
    """Everything tunable about one provider; see emulator/README.md for the meaning of each."""

    fault_5xx: float = 0.0
    fault_429: float = 0.0
    retry_after: float = 1.0
    fault_drop: float = 0.0
    fault_slow: float = 0.0
    slow_s: float = 30.0
    fault_garbage: float = 0.0
    latency_ms: float = 0.0
    duration: DurationSpec = field(default_factory=lambda: DurationSpec.parse(DEFAULT_DURATION))
    queue_s: float = 0.5
    failure_rate: float = 0.0
    price: float = 1.0
    hostile: str = ""  # comma-separated HOSTILE_MODES
    hostile_url: str = ""  # the other host for `redirect` and `presign_elsewhere`
    hostile_name: str = "../../x"  # what `file_name` calls every output file
    hostile_bytes: float = 64 * 1024 * 1024  # size of a `huge_body` answer

    @classmethod
    def keys(cls) -> tuple[str, ...]:
        """All accepted setting names, in declaration order."""
        return tuple(f.name for f in dataclasses.fields(cls))

    def updated(self, changes: Mapping[str, Any]) -> ProviderSettings:
        """Return a copy with `changes` applied and validated as a whole.

        Raises SettingsError for unknown keys, out-of-range values, or fault rates whose sum
        exceeds 1 (faults are drawn as mutually exclusive slices of one random number).
        """
        unknown = sorted(set(changes) - set(self.keys()))
        if unknown:
            raise SettingsError(f"unknown setting(s): {', '.join(unknown)}")
        coerced = {key: _coerce(key, value) for key, value in changes.items()}
        result = dataclasses.replace(self, **coerced)
        total = sum(getattr(result, key) for key in FAULT_RATE_KEYS)
        if total > 1.0 + 1e-9:
            raise SettingsError(f"fault rates add up to {total:g}, more than 1")
        return result

    def to_json(self) -> dict[str, Any]:
        """JSON-ready view, with the duration in its CLI string form."""
        data = dataclasses.asdict(self)
        data["duration"] = str(self.duration)
        return data


def _coerce(key: str, value: Any) -> Any:
    """Turn a JSON or CLI value into the typed value for `key`, checking its range."""
    if key == "duration":
        return value if isinstance(value, DurationSpec) else DurationSpec.parse(value)
    if key in TEXT_KEYS:
        return _text(key, value)
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"{key}: expected a number, got {value!r}") from exc
    if isinstance(value, bool) or not math.isfinite(number) or number < 0:
        raise SettingsError(f"{key}: expected a finite number >= 0, got {value!r}")
    if (key in FAULT_RATE_KEYS or key == "failure_rate") and number > 1:
        raise SettingsError(f"{key}: a rate must be between 0 and 1, got {value!r}")
    return number


def _text(key: str, value: Any) -> str:
    """A text setting; ``hostile`` must list known modes only."""
    if not isinstance(value, str):
        raise SettingsError(f"{key}: expected a string, got {value!r}")
    if key == "hostile":
        unknown = sorted({m for m in value.split(",") if m} - set(HOSTILE_MODES))
        if unknown:
            raise SettingsError(f"hostile: unknown mode(s) {', '.join(unknown)}; "
                                f"known: {', '.join(HOSTILE_MODES)}")
    return value


def parse_assignment(text: str) -> tuple[str, str, str]:
    """Split a `--set PROVIDER.KEY=VALUE` argument into its three parts."""
    target, sep, value = text.partition("=")
    provider, dot, key = target.partition(".")
    if not sep or not dot or not provider or not key:
        raise SettingsError(f"--set expects PROVIDER.KEY=VALUE, got {text!r}")
    return provider, key, value
