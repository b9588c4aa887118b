"""The one check a name passes before it becomes part of a path on our side.

Output file names come from platforms (a Deep Origin file key, a pipeline's output file)
and job keys come from users; either may end up as a file name in the results store or an
export. A hostile or careless one (``../../x``, ``/etc/passwd``, ``a/b``) must never reach
a path, so every such name goes through :func:`safe_file_name` first: it accepts a plain
file name as is and refuses everything else with the reason, rather than "fixing" it into
some other name that might collide with a real one.

Where we choose the path ourselves, names are made safe instead of refused:
:func:`key_dir` turns a user's key into its folder (a key that had to change carries its
job id's start, so two keys never share a folder) and :func:`safe_file_names` gives a job's
output files unique single-component names for the result store and ``jobfleet export``.
A name that is already safe is kept as it is, so people find their files under the names
they know.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MAX_NAME_BYTES = 255  # the usual file-system limit for one path component
_SEPARATORS = ("/", "\\")
MAX_SEGMENT_CHARS = 120  # well inside every filesystem's and S3's limits, with room for a suffix
_UNSAFE = re.compile(r"[^\w.+=,@ -]+")  # \w is Unicode letters, digits and '_'
_SEPARATOR_RUN = re.compile(r"[/\\]+")


class UnsafeName(ValueError):
    """A name that cannot be used as a single file name; the message says why."""


def safe_file_name(name: object, what: str = "file name") -> str:
    """``name`` itself when it is one plain path component; raises ``UnsafeName`` otherwise.

    Refused: anything not a string, empty, ``.`` or ``..``, a path separator (``/`` or
    ``\\``, which also rules out absolute paths), a NUL or other control character, or more
    than 255 bytes of UTF-8. ``what`` names the thing in the message ("output file name").
    """
    if not isinstance(name, str):
        raise UnsafeName(f"{what} {name!r} is not a string")
    problem = _problem(name)
    if problem:
        raise UnsafeName(f"unsafe {what} {name!r}: {problem}")
    return name


def _problem(name: str) -> str | None:
    if name in ("", ".", ".."):
        return "not a file name"
    if name.startswith(_SEPARATORS) or (len(name) > 1 and name[1] == ":"):
        return "an absolute path"
    if any(sep in name for sep in _SEPARATORS):
        return "contains a path separator"
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        return "contains a control character"
    if len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        return f"longer than {MAX_NAME_BYTES} bytes"
    return None


def safe_segment(name: str, fallback: str = "file") -> str:
    """One path segment made from ``name``: separators and unsafe characters become ``_``,
    leading dots and spaces are dropped (no hidden files, no ``..``)."""
    cleaned = _UNSAFE.sub("_", _SEPARATOR_RUN.sub("_", name)).strip(" ").lstrip(".")
    cleaned = cleaned[:MAX_SEGMENT_CHARS].rstrip(" .")
    return cleaned or fallback


def key_dir(key: str, job_id: str) -> str:
    """The folder of one job: its key when the key is already safe, else the cleaned key
    followed by the job id's start, so two keys that clean to the same text stay apart."""
    cleaned = safe_segment(key, fallback="job")
    return cleaned if cleaned == key else f"{cleaned}-{job_id[:8]}"


def safe_file_names(names: Iterable[str]) -> dict[str, str]:
    """Original output name → a safe, unique file name. The last path component is the name
    people know (``out/msa.fasta`` → ``msa.fasta``); when two share it, the whole path is kept
    (``a_msa.fasta``), and a counter settles anything left."""
    names = list(names)
    bases = [safe_segment(_SEPARATOR_RUN.split(n.strip("/\\"))[-1]) for n in names]
    chosen: dict[str, str] = {}
    taken: set[str] = set()
    for name, base in zip(names, bases):
        candidate = base if bases.count(base) == 1 else safe_segment(name)
        unique, n = candidate, 1
        while unique in taken:
            n += 1
            unique = f"{n}-{candidate}"
        taken.add(unique)
        chosen[name] = unique
    return chosen
