"""Settings: the only place jobfleet reads the environment."""

from config.settings import (
    DeepOriginSettings,
    FleetSettings,
    ModeratelySettings,
    OpenProteinSettings,
    PollSettings,
    deeporigin_settings,
    fleet_settings,
    moderately_settings,
    openprotein_settings,
    poll_settings,
)

__all__ = [
    "DeepOriginSettings",
    "FleetSettings",
    "ModeratelySettings",
    "OpenProteinSettings",
    "PollSettings",
    "deeporigin_settings",
    "fleet_settings",
    "moderately_settings",
    "openprotein_settings",
    "poll_settings",
]
