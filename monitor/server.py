"""``jobfleet flower``: Flower with the fleet's pages, API and metrics in the same web app.

One process, one port, one login: our handlers are added to Flower's own Tornado
application and inherit its authentication (basic auth or OAuth), its look and its
navigation. ``/metrics`` serves Flower's series and ours together and, unlike plain Flower,
asks for the same login unless ``--open-metrics`` is given.
"""

from __future__ import annotations

import logging
import signal
import sys
from dataclasses import dataclass
from functools import cached_property

import prometheus_client
import redis
import tornado.options
from flower import command
from flower.app import Flower
from flower.urls import settings as flower_settings
from pydantic import ValidationError
from tornado.options import options

from config.settings import (
    FleetSettings,
    fleet_settings,
    limit_settings,
    monitor_settings,
    settings_problem,
)
from monitor import access
from monitor.metrics import register
from monitor.routes import handlers
from monitor.templates import FlowerTemplates
from producers.api import Fleet
from worker.providers import provider_names
from worker.store import connect_redis

log = logging.getLogger("jobfleet.monitor")

OPEN_METRICS_FLAG = "--open-metrics"


@dataclass
class Monitor:
    """What our handlers share: the Redis connection, the producer API, the platforms."""

    redis_url: str
    metrics_open: bool
    max_body_bytes: int

    @cached_property
    def redis(self) -> redis.Redis:
        return connect_redis(self.redis_url)

    @cached_property
    def fleet(self) -> Fleet:
        """The producer API: the HTTP API enqueues and cancels exactly as Python callers do."""
        return Fleet(FleetSettings(redis_url=self.redis_url))

    @property
    def platforms(self) -> tuple[str, ...]:
        return provider_names()

    @staticmethod
    def limit_of(platform: str) -> int | None:
        return limit_settings(platform).max_in_flight


class JobfleetFlower(Flower):
    """Flower's application with the fleet's handlers taking precedence over its own."""

    def __init__(self, *, monitor: Monitor, **kwargs) -> None:
        kwargs["template_loader"] = FlowerTemplates(kwargs["template_path"])
        super().__init__(**kwargs)
        self.monitor = monitor
        self.add_handlers(r".*", handlers(self.options.url_prefix or ""))
        register(prometheus_client.REGISTRY, monitor)


def serve(argv: list[str]) -> int:
    """Starts Flower on the fleet's broker; returns an exit code (2 for refused options)."""
    if "--help" in argv:
        print(f"jobfleet flower [{OPEN_METRICS_FLAG}] [Flower options]: Flower with the fleet's "
              f"pages; {OPEN_METRICS_FLAG} serves /metrics without the login. Flower's options:")
    open_metrics = OPEN_METRICS_FLAG in argv
    argv = [a for a in argv if a != OPEN_METRICS_FLAG]
    types = {name.replace("-", "_"): opt.type  # Flower defines its options on tornado's
             for name, opt in options._options.items()}  # noqa: SLF001
    try:
        argv = access.split_value_options(argv, types)
        command.apply_env_options()
        command.apply_options("jobfleet flower", argv)
    except (ValueError, tornado.options.Error) as exc:
        print(f"jobfleet flower: {exc}", file=sys.stderr)
        return 2
    if not options.address and not options.unix_socket:
        options.address = access.DEFAULT_ADDRESS
    refused = access.refusal(options.address, options.unix_socket, bool(options.basic_auth),
                             bool(options.auth))
    if refused:
        print(f"jobfleet flower: {refused}", file=sys.stderr)
        return 2
    try:
        monitor = Monitor(redis_url=fleet_settings().redis_url,
                          metrics_open=open_metrics or monitor_settings().metrics_open,
                          max_body_bytes=monitor_settings().api_max_body_bytes)
    except ValidationError as exc:
        print(f"jobfleet flower: {settings_problem(exc)}", file=sys.stderr)
        return 2
    return _run(monitor)


def _run(monitor: Monitor) -> int:
    from worker.app import app as celery_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    command.extract_settings()
    command.setup_logging()
    flower = JobfleetFlower(capp=celery_app, options=options, monitor=monitor, **flower_settings)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    port = flower.start_http_server()
    where = options.unix_socket or f"http://{options.address}:{port}"
    prefix = f"/{options.url_prefix.strip('/')}" if options.url_prefix else ""
    print(f"jobfleet flower: serving on {where}{prefix}/ (fleet pages at "
          f"{prefix}/jobfleet/batches)", flush=True)
    try:
        flower.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        flower.stop()
    return 0
