"""What every subcommand shares: the one-line user error, a reachable fleet, safe output.

A user error is raised as :class:`UserError` and printed by ``producers.cli.main`` as one
line; nothing here prints a traceback.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import redis

from config.settings import fleet_settings, redacted_url

REDIS_PROBE_S = 2.0  # an unreachable Redis is reported within this, not after retries
MAX_SHOWN_ERRORS = 20  # rejected lines printed before the rest are only counted


class UserError(Exception):
    """A problem the user can fix; its message is printed as one line, exit status 1."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def open_fleet():
    """The producer API, after checking quickly that Redis answers (the API's own client
    rides out restarts with retries, which would make a wrong URL hang for half a minute)."""
    from producers.api import Fleet

    settings = fleet_settings()
    probe = redis.Redis.from_url(settings.redis_url, socket_connect_timeout=REDIS_PROBE_S,
                                 socket_timeout=REDIS_PROBE_S)
    try:
        probe.ping()
    except redis.RedisError as exc:
        raise UserError(f"cannot reach Redis at {redacted_url(settings.redis_url)}: "
                        f"{_first_line(exc)}") from None
    finally:
        probe.close()
    return Fleet(settings)


def check_batch_name(name: str) -> str:
    """Refuses a name no batch can have, before anything is read or written."""
    from producers.api import BATCH_NAME

    if not BATCH_NAME.match(name):
        raise UserError(f"invalid batch name {name!r}: use letters, digits, '.', '_', '-' "
                        "(at most 64 characters, not starting with a punctuation mark)")
    return name


def print_capped(lines: list[str], more_label: str, limit: int = MAX_SHOWN_ERRORS) -> None:
    """Prints the first ``limit`` lines to stderr, then how many more there were."""
    for line in lines[:limit]:
        print(line, file=sys.stderr)
    if len(lines) > limit:
        print(f"... and {len(lines) - limit} more {more_label}", file=sys.stderr)


@contextmanager
def output(path: Path | None) -> Iterator[IO[str]]:
    """stdout, or ``path`` written whole or not at all: a temporary file in the same folder
    renamed over it at the end, so a failure never leaves it empty or half-written."""
    if path is None:
        yield sys.stdout
        return
    folder = path.parent
    if not folder.is_dir():
        raise UserError(f"cannot write {path}: folder {folder} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "w") as out:
            yield out
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
