"""Local, faithful stand-ins for the remote job platforms, served over real HTTP.

One aiohttp server hosts every provider under its own prefix (`/deeporigin`, ...), all sharing
a lazily evaluated job clock, fault injection and stats, plus control endpoints at
`/_emulator/*`. Start it with `python -m emulator`; drive it from tests with
`emulator.control`. See `emulator/README.md` for the design and how to add a provider.
"""
