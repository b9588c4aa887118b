"""The Lua scripts behind :class:`worker.store.JobStore`: every state change is one of these.

Each runs atomically in Redis, so a check and the write it guards can never be split by a
crash or another worker. The scripts live as ``.lua`` files in ``worker/lua/`` (package
data); the key prefixes, step names and states they need are declared in a header made here
from :mod:`worker.keys` and :mod:`worker.record`, so they are spelled once, in Python.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

from config.settings import RETENTION_DAYS
from worker import keys
from worker.record import ACTIVE, ALIVE, ATTEMPT_FIELDS, STATES, STEPS, TERMINAL, TIME_FIELD

DEFAULT_RETENTION_S = int(RETENTION_DAYS * 86400)
NAMES = ("transition", "claim", "renew", "claim_due", "create", "flag", "retry", "push_due",
         "touch_due")  # the job store's
RETENTION_NAMES = ("retire", "release_files", "hold_planned")  # worker.retention's


def _lua(value: str) -> str:
    return json.dumps(value)  # a double-quoted string Lua reads the same way


def _set(names) -> str:
    return "{" + ", ".join(f"[{_lua(n)}] = true" for n in sorted(names)) + "}"


def header(retention_s: int) -> str:
    """The constants every script may use, as Lua locals; ``retention_s`` is how long ended
    jobs and finished batches are kept (``JOBFLEET_RETENTION_DAYS``)."""
    return "\n".join([
        f"local JOB, BATCH = {_lua(keys.JOB)}, {_lua(keys.BATCH)}",
        f"local DUE, INFLIGHT = {_lua(keys.DUE)}, {_lua(keys.INFLIGHT)}",
        f"local UNSTARTED = {_lua(keys.UNSTARTED)}",
        "local STEPS = {" + ", ".join(_lua(s) for s in STEPS) + "}",
        f"local TERMINAL, ALIVE = {_set(TERMINAL)}, {_set(ALIVE)}",
        f"local INITIAL, TIME = {_lua(STATES[0])}, {_lua(TIME_FIELD)}",
        f"local BATCHES, COUNTS = {_lua(keys.BATCHES)}, {_lua(keys.COUNTS)}",
        f"local ENDED_BUCKET = {keys.ENDED_BUCKET_S}",
        f"local REMOTE, RETENTION = {_lua(keys.REMOTE)}, {int(retention_s)}",
        "local BATCH_PARTS = {" + ", ".join(_lua(p) for p in keys.BATCH_PARTS) + "}",
        f"local PLATFORMS_PART, RETIRING = {_lua(keys.PLATFORMS_PART)}, {_lua(keys.RETIRING)}",
        f"local HELD_FILES, FILES_DUE = {_lua(keys.HELD_FILES)}, {_lua(keys.FILES_DUE)}",
        "local STATES = {" + ", ".join(_lua(s) for s in STATES) + "}",
        "local ACTIVE = {" + ", ".join(_lua(s) for s in ACTIVE) + "}",
        "local ATTEMPT_FIELDS = {" + ", ".join(_lua(f) for f in ATTEMPT_FIELDS) + "}",
        "",
    ])


def read(name: str) -> str:
    """The text of ``worker/lua/{name}.lua`` as shipped (a script that needs no header)."""
    return (resources.files("worker") / "lua" / f"{name}.lua").read_text("utf-8")


@cache
def source(name: str, retention_s: int = DEFAULT_RETENTION_S) -> str:
    """The full text of script ``name``: the header, the shared helpers, then the script."""
    if name not in NAMES + RETENTION_NAMES:
        raise KeyError(f"no job store script {name!r}")
    return header(retention_s) + read("common") + read("aggregates") + read(name)
