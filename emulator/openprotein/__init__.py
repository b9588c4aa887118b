"""OpenProtein.AI emulator (login/refresh, MSA and embedding jobs); see `provider.py`."""

from emulator.openprotein.provider import OpenProteinProvider

PROVIDER = OpenProteinProvider

__all__ = ["PROVIDER", "OpenProteinProvider"]
