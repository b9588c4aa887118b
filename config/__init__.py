"""Settings: the only place jobfleet reads the environment."""

from config.settings import (
    DeepOriginSettings,
    FleetSettings,
    PollSettings,
    deeporigin_settings,
    fleet_settings,
    poll_settings,
)

__all__ = [
    "DeepOriginSettings",
    "FleetSettings",
    "PollSettings",
    "deeporigin_settings",
    "fleet_settings",
    "poll_settings",
]
