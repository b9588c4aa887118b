"""Every URL ``jobfleet flower`` adds to Flower, in one table."""

from __future__ import annotations

from tornado.web import url

from monitor import api, pages
from monitor.metrics import MetricsHandler

BATCH = r"(?P<batch>[A-Za-z0-9][A-Za-z0-9._-]{0,63})"  # producers.api.BATCH_NAME


def handlers(prefix: str = "") -> list:
    """Our handlers under Flower's ``--url_prefix``; they take precedence over Flower's."""
    root = f"/{prefix.strip('/')}" if prefix.strip("/") else ""
    table = [
        url(r"/jobfleet/batches", pages.BatchesPage, name="jobfleet-batches"),
        url(rf"/jobfleet/batches/{BATCH}", pages.BatchPage, name="jobfleet-batch"),
        url(rf"/jobfleet/batches/{BATCH}/cancel", pages.CancelBatch, name="jobfleet-cancel"),
        url(r"/jobfleet/job", pages.JobPage, name="jobfleet-job"),
        url(r"/jobfleet/fleet", pages.FleetPage, name="jobfleet-fleet"),
        url(r"/jobfleet/api/batches", api.Batches, name="jobfleet-api-batches"),
        url(rf"/jobfleet/api/batches/{BATCH}", api.BatchStatus),
        url(rf"/jobfleet/api/batches/{BATCH}/results", api.BatchResults),
        url(rf"/jobfleet/api/batches/{BATCH}/cancel", api.BatchCancel),
        url(r"/metrics", MetricsHandler, name="metrics"),
    ]
    return [url(root + u.regex.pattern.rstrip("$"), u.handler_class, u.kwargs, u.name)
            for u in table]
