"""``jobfleet emulator``: the platform emulators on one port, for local fleets and tests."""

from __future__ import annotations

from emulator.server import main


def serve(argv: list[str]) -> int:
    """Serves the emulators until interrupted; ``argv`` are the emulator's own options."""
    main(argv)
    return 0
