"""Settings: the fleet's own (``JOBFLEET_*``); each platform's live with its package."""

from config.settings import (
    FleetSettings,
    PollSettings,
    fleet_settings,
    poll_settings,
)

__all__ = [
    "FleetSettings",
    "PollSettings",
    "fleet_settings",
    "poll_settings",
]
