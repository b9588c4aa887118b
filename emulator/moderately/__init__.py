"""Moderately AI emulator (agent executions, pipeline executions, files); see `provider.py`."""

from emulator.moderately.provider import ModeratelyProvider

PROVIDER = ModeratelyProvider

__all__ = ["PROVIDER", "ModeratelyProvider"]
