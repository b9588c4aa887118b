"""The one check a name passes before it becomes part of a path on our side.

Output file names come from platforms (a Deep Origin file key, a pipeline's output file)
and job keys come from users; either may end up as a file name in the results store or an
export. A hostile or careless one (``../../x``, ``/etc/passwd``, ``a/b``) must never reach
a path, so every such name goes through :func:`safe_file_name` first: it accepts a plain
file name as is and refuses everything else with the reason, rather than "fixing" it into
some other name that might collide with a real one.
"""

from __future__ import annotations

MAX_NAME_BYTES = 255  # the usual file-system limit for one path component
_SEPARATORS = ("/", "\\")


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
