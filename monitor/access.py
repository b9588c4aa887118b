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


def split_value_options(argv: list[str], known: set[str], flags: set[str]) -> list[str]:
    """``--name value`` → ``--name=value`` for Flower's options, which accept only the latter.

    Raises ``ValueError`` naming an option Flower does not know, or a value left missing,
    instead of letting Flower ignore it silently.
    """
    out, args = [], list(argv)
    while args:
        arg = args.pop(0)
        if not arg.startswith("--"):
            raise ValueError(f"unexpected argument {arg!r} (Flower options look like --port=5555)")
        name, equals, _ = arg[2:].partition("=")
        if name.replace("-", "_") not in known:
            raise ValueError(f"unknown Flower option --{name}")
        if not equals and name.replace("-", "_") not in flags:
            if not args or args[0].startswith("--"):
                raise ValueError(f"option --{name} needs a value")
            arg = f"{arg}={args.pop(0)}"
        out.append(arg)
    return out
