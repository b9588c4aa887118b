"""Who may reach ``jobfleet flower``: loopback by default, and never exposed without a login.

Flower itself listens on every interface with no login unless told otherwise; the fleet's
pages can cancel batches and enqueue jobs, so ``jobfleet flower`` binds ``127.0.0.1`` unless
an address is given, and refuses a non-loopback address unless Flower's basic auth or OAuth
is configured.
"""

from __future__ import annotations

import ipaddress

DEFAULT_ADDRESS = "127.0.0.1"  # reachable from this machine only
_LOOPBACK_NAMES = frozenset({"localhost", "ip6-localhost", "ip6-loopback"})


def is_loopback(address: str) -> bool:
    """True for an address only this machine can reach ('' means every interface: False)."""
    host = address.strip().strip("[]")
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def refusal(address: str, unix_socket: str, basic_auth: bool, oauth: bool) -> str | None:
    """Why Flower must not start with these options, in one line; None when it may."""
    if unix_socket or basic_auth or oauth or is_loopback(address):
        return None
    shown = address or "every interface"
    return (f"refusing to serve Flower on {shown} without a login: set FLOWER_BASIC_AUTH="
            f"user:password (or --basic-auth, or Flower's --auth OAuth), or bind "
            f"{DEFAULT_ADDRESS}")


def split_value_options(argv: list[str], types: dict[str, type]) -> list[str]:
    """``--name value`` → ``--name=value`` for Flower's options, which accept only the latter.

    ``types`` maps each Flower option (``_`` for ``-``) to its type. Raises ``ValueError``
    naming an unknown option, a missing value or a number that is not one, instead of
    letting Flower ignore it or fail with a traceback.
    """
    out, args = [], list(argv)
    while args:
        arg = args.pop(0)
        if not arg.startswith("--"):
            raise ValueError(f"unexpected argument {arg!r} (Flower options look like --port=5555)")
        name, equals, value = arg[2:].partition("=")
        kind = types.get(name.replace("-", "_"))
        if kind is None:
            raise ValueError(f"unknown Flower option --{name}")
        if not equals and kind is not bool:
            if not args or args[0].startswith("--"):
                raise ValueError(f"option --{name} needs a value")
            value = args.pop(0)
            arg = f"--{name}={value}"
        if kind in (int, float):
            try:
                kind(value)
            except ValueError:
                raise ValueError(f"option --{name} needs a number, got {value!r}") from None
        out.append(arg)
    return out
