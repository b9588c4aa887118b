"""OpenProtein's extra counters: who logged in, who refreshed, which tokens were refused.

The shared counters (requests, faults, creations per payload hash) stay in `ProviderStats`;
these answer the questions a token-sharing client raises: did a fleet of workers log in once
or once per task, did an expiry cost one refresh or one per worker, did a bad password cause
a storm of login attempts. Per-user maps are kept even in `brief` snapshots: the number of
users is small and fixed, unlike tags or payloads.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from emulator.provider import ProviderContext
from emulator.stats import ProviderStats


class OpenProteinStats(ProviderStats):
    """`ProviderStats` plus login, refresh and token-rejection counters."""

    def __init__(self, created_label: str = "jobs_created") -> None:
        super().__init__(created_label)
        self.logins: Counter[str] = Counter()
        self.login_failures: Counter[str] = Counter()
        self.refreshes: Counter[str] = Counter()
        self.refresh_failures = 0
        self.token_rejections = 0

    def snapshot(self, jobs_by_status: dict[str, int], *, brief: bool = False) -> dict[str, Any]:
        """The shared snapshot plus the auth counters (totals and per username)."""
        data = super().snapshot(jobs_by_status, brief=brief)
        data.update(
            logins=sum(self.logins.values()),
            login_failures=sum(self.login_failures.values()),
            refreshes=sum(self.refreshes.values()),
            refresh_failures=self.refresh_failures,
            token_rejections=self.token_rejections,
            logins_by_user=dict(self.logins),
            login_failures_by_user=dict(self.login_failures),
            refreshes_by_user=dict(self.refreshes),
        )
        return data


def auth_stats(ctx: ProviderContext) -> OpenProteinStats:
    """The context's stats as `OpenProteinStats` (the provider installs them, also on reset)."""
    stats = ctx.stats
    if not isinstance(stats, OpenProteinStats):
        stats = ctx.stats = OpenProteinStats(stats.created_label)
    return stats
