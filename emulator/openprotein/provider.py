"""OpenProtein.AI, assembled: CLI options, routes, status names and the extra stats.

Base URL: `http://HOST:PORT/openprotein/`. The official client joins its paths with
`urljoin(backend, "v1/...")`, so the backend must end in `/` (without it the prefix is
dropped); our own provider joins paths itself and takes either form.
"""

from __future__ import annotations

import argparse
from typing import Any

from aiohttp import web

from emulator.clock import JobRecord
from emulator.openprotein.align import AlignApi
from emulator.openprotein.auth import AuthApi, TokenIssuer
from emulator.openprotein.embeddings import EmbeddingsApi
from emulator.openprotein.jobs import JobsApi, read_override, wire_status
from emulator.openprotein.stats import OpenProteinStats
from emulator.provider import Provider, ProviderContext

DEMO_USERS = {"demo": "demo"}  # used when no --op-user is given; local only, never a secret
# Production access tokens last about 15 minutes (the official client's comment).
ACCESS_TTL_S = 900.0
REFRESH_TTL_S = 7 * 24 * 3600.0  # not visible in the client; a week outlives any test run


def user_option(text: str) -> tuple[str, str]:
    """`USER:PASSWORD` from the command line (the password may contain `:`)."""
    user, sep, password = text.partition(":")
    if not sep or not user or not password:
        raise argparse.ArgumentTypeError("expected USER:PASSWORD")
    return user, password


def seconds_option(text: str) -> float:
    """A positive number of seconds."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError("expected a number of seconds > 0")
    return value


class OpenProteinProvider(Provider):
    """OpenProtein's auth, jobs, align and embeddings services, as `openprotein-python`
    0.17.0 uses them."""

    name = "openprotein"

    def __init__(self, ctx: ProviderContext) -> None:
        super().__init__(ctx)
        ctx.stats = OpenProteinStats(self.created_label)
        options = ctx.options
        users = dict(getattr(options, "op_users", None) or DEMO_USERS.items())
        self.issuer = TokenIssuer(
            getattr(options, "op_token_ttl", None) or ACCESS_TTL_S,
            getattr(options, "op_refresh_ttl", None) or REFRESH_TTL_S,
        )
        self.auth = AuthApi(ctx, users, self.issuer)
        self.jobs = JobsApi(ctx)
        self.align = AlignApi(ctx)
        self.embeddings = EmbeddingsApi(ctx)

    def check_override(self, raw: Any) -> None:
        """The shared keys plus OpenProtein's own (``retrying_s``, ``cancel_after_s``)."""
        read_override(raw)

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """`--op-user`, `--op-token-ttl`, `--op-refresh-ttl`."""
        group = parser.add_argument_group("openprotein")
        group.add_argument(
            "--op-user", action="append", dest="op_users", type=user_option,
            metavar="USER:PASSWORD",
            help="OpenProtein: an account that may log in (repeatable; default demo:demo)",
        )
        group.add_argument(
            "--op-token-ttl", type=seconds_option, metavar="S",
            help=f"OpenProtein: access-token lifetime in seconds [{ACCESS_TTL_S:g}]",
        )
        group.add_argument(
            "--op-refresh-ttl", type=seconds_option, metavar="S",
            help=f"OpenProtein: refresh-token lifetime in seconds [{REFRESH_TTL_S:g}]",
        )

    def routes(self) -> list[web.RouteDef]:
        """Auth routes open; everything else behind the bearer guard."""
        guard = self.auth.guard
        return [
            *self.auth.routes(),
            *self.jobs.routes(guard),
            *self.align.routes(guard),
            *self.embeddings.routes(guard),
        ]

    def status_of(self, job: JobRecord, now: float) -> str:
        """The wire status (`PENDING`, `RUNNING`, `RETRYING`, `SUCCESS`, ...)."""
        return wire_status(job, now)

    def describe_job(self, job: JobRecord, now: float) -> dict[str, Any]:
        """The record plus owner, job type and arguments."""
        data = job.data
        return {
            **super().describe_job(job, now),
            "owner": data.owner,
            "job_type": data.job_type,
            "args": data.args,
        }

    def reset(self) -> None:
        """Forget jobs, counters and every issued token (clients log in again)."""
        super().reset()
        self.ctx.stats = OpenProteinStats(self.created_label)
        self.issuer.forget_all()
