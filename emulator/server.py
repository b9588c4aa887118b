"""Command line and serving loop: `python -m emulator` / `jobfleet emulator`.

Start-up prints one line per provider with its base URL (then a `control` line), flushed, so
a parent process or a person can see where to point clients. SIGINT/SIGTERM stop it cleanly.
Access logs are off: at thousands of requests per second they would cost more than serving.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Mapping, Sequence

from aiohttp import web

from emulator.admin import admin_routes
from emulator.app import Emulator
from emulator.provider import Provider, discover_providers
from emulator.settings import ProviderSettings, SettingsError, parse_assignment

DEFAULT_PORT = 8700
# Requests still in flight at shutdown (e.g. injected 30 s slow ones) are not worth waiting for.
SHUTDOWN_TIMEOUT_S = 1.0
LISTEN_BACKLOG = 2048
SETTING_FLAGS = {
    "fault_5xx": "rate of 500/502/503 answers, request not processed",
    "fault_429": "rate of 429 answers with Retry-After, request not processed",
    "retry_after": "Retry-After seconds sent with injected 429s",
    "fault_drop": "rate of requests processed, then the connection closed without a response",
    "fault_slow": "rate of requests that sleep --slow-s before being processed",
    "slow_s": "seconds a slow request sleeps",
    "fault_garbage": "rate of 200 answers with a non-JSON body (request processed)",
    "latency_ms": "mean added latency per request (exponential), milliseconds",
    "duration": "job run time: uniform:LOW,HIGH | fixed:S | exp:MEAN (seconds)",
    "queue_s": "seconds a job stays queued before running",
    "failure_rate": "fraction of jobs that end failed",
    "price": "quoted price of a job",
}


def build_parser(provider_classes: Mapping[str, type[Provider]]) -> argparse.ArgumentParser:
    """The CLI; setting flags mirror the `POST /_emulator/config` keys (`-` for `_`)."""
    parser = argparse.ArgumentParser(
        prog="python -m emulator", description="Local emulator of the remote job platforms."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="0 picks a free port")
    parser.add_argument(
        "--providers", help=f"comma-separated subset of: {', '.join(provider_classes)}"
    )
    parser.add_argument("--seed", type=int, help="seed the random source (reproducible runs)")
    defaults = ProviderSettings().to_json()
    group = parser.add_argument_group("defaults for every provider")
    for key, help_text in SETTING_FLAGS.items():
        kind = str if key == "duration" else float
        flag = "--" + key.replace("_", "-")
        help_text = f"{help_text} [{defaults[key]}]"
        group.add_argument(flag, type=kind, default=defaults[key], help=help_text)
    group.add_argument(
        "--set", action="append", default=[], metavar="PROVIDER.KEY=VALUE",
        help="override one setting for one provider, e.g. deeporigin.fault_5xx=0.1 (repeatable)",
    )
    for provider_class in provider_classes.values():
        provider_class.add_arguments(parser)
    return parser


def settings_from_args(
    args: argparse.Namespace, names: Sequence[str]
) -> dict[str, ProviderSettings]:
    """Per-provider settings: the CLI defaults, then each `--set` override; raises SettingsError."""
    base = ProviderSettings().updated({key: getattr(args, key) for key in SETTING_FLAGS})
    overrides: dict[str, dict[str, str]] = {name: {} for name in names}
    for assignment in args.set:
        provider, key, value = parse_assignment(assignment)
        if provider not in overrides:
            raise SettingsError(f"--set: unknown or disabled provider {provider!r}")
        overrides[provider][key] = value
    return {name: base.updated(overrides[name]) for name in names}


def select_providers(
    available: Mapping[str, type[Provider]], wanted: str | None
) -> dict[str, type[Provider]]:
    """The providers to run: all found, or the `--providers` subset; raises SettingsError."""
    if not wanted:
        return dict(available)
    names = [name.strip() for name in wanted.split(",") if name.strip()]
    unknown = [name for name in names if name not in available]
    if unknown:
        raise SettingsError(f"--providers: unknown {', '.join(unknown)}")
    return {name: available[name] for name in names}


async def serve(emulator: Emulator, host: str, port: int) -> None:
    """Serve until SIGINT/SIGTERM, announcing the base URLs once listening."""
    runner = web.AppRunner(
        emulator.build_app(admin_routes(emulator)), access_log=None, handle_signals=False,
        shutdown_timeout=SHUTDOWN_TIMEOUT_S,
    )
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=LISTEN_BACKLOG, reuse_address=True)
    await site.start()
    bound_port = runner.addresses[0][1] if runner.addresses else port
    shown_host = f"[{host}]" if ":" in host else host
    for name in emulator.providers:
        print(f"{name:<11} http://{shown_host}:{bound_port}/{name}")
    print(f"{'control':<11} http://{shown_host}:{bound_port}/_emulator", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> None:
    """Parse arguments and run the emulator until interrupted (exit 2 on bad arguments)."""
    available = discover_providers()
    parser = build_parser(available)
    args = parser.parse_args(argv)
    try:
        chosen = select_providers(available, args.providers)
        settings = settings_from_args(args, list(chosen))
    except SettingsError as exc:
        parser.error(str(exc))
    if not chosen:
        parser.error("no provider modules found")
    emulator = Emulator(chosen, settings, args, seed=args.seed)
    try:
        asyncio.run(serve(emulator, args.host, args.port))
    except OSError as exc:
        print(f"emulator: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        raise SystemExit(1) from exc
