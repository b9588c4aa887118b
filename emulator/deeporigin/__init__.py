"""Deep Origin emulator (tools executions, quotes, files); see `provider.py` for the entry."""

from emulator.deeporigin.provider import DeepOriginProvider

PROVIDER = DeepOriginProvider

__all__ = ["PROVIDER", "DeepOriginProvider"]
