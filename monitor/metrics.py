"""``jobfleet_*`` series on Flower's ``/metrics``, beside Flower's own: one scrape target.

Two sources, both read at scrape time and both O(platforms × steps):

- the fleet's state in Redis (jobs by platform and state, in flight against the limit, due
  index depth and lateness, 429 pauses, refused credentials): see :mod:`monitor.fleet`;
- counters and histograms workers add up in one Redis hash (responses by status class,
  our own throttling, step durations, detection delay, uploads): see :mod:`worker.telemetry`.

The handler replaces Flower's ``/metrics``, which is always open: ours asks for Flower's login
unless the operator opened it (``--open-metrics`` / ``JOBFLEET_METRICS_OPEN``).
"""

from __future__ import annotations

import logging
from collections import defaultdict

import prometheus_client
import redis
from flower.views import BaseHandler
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from tornado import web
from tornado.ioloop import IOLoop

from monitor import fleet
from worker.keys import METRICS
from worker.record import STATES
from worker.telemetry import CATALOGUE

log = logging.getLogger("jobfleet.monitor")


class MetricsHandler(BaseHandler):
    """Flower's series and ours, behind Flower's login unless explicitly opened."""

    async def get(self) -> None:
        if not self.application.monitor.metrics_open and not self.current_user:
            raise web.HTTPError(401)
        self.application.purge_offline_worker_metrics()
        body = await IOLoop.current().run_in_executor(
            None, prometheus_client.generate_latest, prometheus_client.REGISTRY)
        self.set_header("Content-Type", prometheus_client.CONTENT_TYPE_LATEST)
        self.write(body)


class FleetCollector:
    """A Prometheus collector reading the fleet's Redis at each scrape."""

    def __init__(self, monitor) -> None:
        self.monitor = monitor

    def describe(self):
        return []  # nothing to check at registration: no Redis read before the first scrape

    def collect(self):
        try:
            yield from self._state()
            yield from self._worker_series()
        except redis.RedisError as exc:  # a scrape during a Redis restart: Flower's still served
            log.warning("jobfleet metrics unavailable: %s", exc)

    def _state(self):
        m = self.monitor
        platforms = fleet.read_fleet(m.redis, m.platforms, m.limit_of)
        jobs = GaugeMetricFamily("jobfleet_jobs", "Jobs by platform and state, all batches held "
                                 "(an expired or forgotten batch's jobs leave it)",
                                 labels=["platform", "state"])
        for (platform, state), n in sorted(fleet.job_counts(m.redis).items()):
            if state in STATES:
                jobs.add_metric([platform, state], n)
        yield jobs
        yield from _platform_families(platforms)

    def _worker_series(self):
        raw = self.monitor.redis.hgetall(METRICS)
        samples: dict[str, list[tuple[dict[str, str], float]]] = defaultdict(list)
        for name_labels, value in raw.items():
            name, _, labels = name_labels.partition("|")
            pairs = dict(p.split("=", 1) for p in labels.split(",") if "=" in p)
            samples[name].append((pairs, float(value)))
        for metric in CATALOGUE.values():
            if metric.kind == "counter":
                yield _counter(metric, samples.get(metric.name, []))
            else:
                yield _histogram(metric, samples)


def _platform_families(platforms: list[fleet.PlatformState]):
    in_flight = GaugeMetricFamily("jobfleet_in_flight", "Remote jobs alive now (submitting "
                                  "or running) per platform credential", labels=["platform"])
    limit = GaugeMetricFamily("jobfleet_in_flight_limit", "The configured most remote jobs "
                              "alive at once (absent: unlimited)", labels=["platform"])
    depth = GaugeMetricFamily("jobfleet_due_jobs", "Jobs waiting in a step's due index "
                              "(step unstarted: new jobs waiting for their first submit)",
                              labels=["step", "platform"])
    overdue = GaugeMetricFamily("jobfleet_due_oldest_overdue_seconds", "How late the most "
                                "overdue job of a due index is (0: none due)",
                                labels=["step", "platform"])
    paused = GaugeMetricFamily("jobfleet_paused_seconds", "Seconds left of a fleet-wide pause "
                               "after a 429 (0: none)", labels=["platform"])
    refused = GaugeMetricFamily("jobfleet_credential_refused", "1 while a refused credential "
                                "is remembered (jobs fail at once)", labels=["platform"])
    for p in platforms:
        in_flight.add_metric([p.platform], p.in_flight)
        if p.limit is not None:
            limit.add_metric([p.platform], p.limit)
        for d in p.due:
            depth.add_metric([d.step, p.platform], d.depth)
            overdue.add_metric([d.step, p.platform], d.overdue_s)
        paused.add_metric([p.platform], max((x.remaining_s for x in p.pauses), default=0.0))
        refused.add_metric([p.platform], 1 if p.refused else 0)
    yield from (in_flight, limit, depth, overdue, paused, refused)


def _counter(metric, samples) -> CounterMetricFamily:
    family = CounterMetricFamily(metric.name, metric.help, labels=list(metric.labels))
    for labels, value in sorted(samples, key=lambda s: sorted(s[0].items())):
        family.add_metric([labels.get(k, "") for k in metric.labels], value)
    return family


def _histogram(metric, samples) -> HistogramMetricFamily:
    family = HistogramMetricFamily(metric.name, metric.help, labels=list(metric.labels))
    series: dict[tuple, dict] = defaultdict(lambda: {"buckets": {}, "sum": 0.0})
    for labels, value in samples.get(f"{metric.name}_bucket", []):
        key = tuple(labels.get(k, "") for k in metric.labels)
        series[key]["buckets"][labels["le"]] = value
    for labels, value in samples.get(f"{metric.name}_sum", []):
        series[tuple(labels.get(k, "") for k in metric.labels)]["sum"] = value
    for key, data in sorted(series.items()):
        bounds = sorted(data["buckets"], key=lambda le: float(le))
        family.add_metric(list(key), [(_le(le), data["buckets"][le]) for le in bounds],
                          data["sum"])
    return family


def _le(bound: str) -> str:
    return "+Inf" if bound == "+Inf" else repr(float(bound))


_registered: set[int] = set()


def register(registry: prometheus_client.CollectorRegistry, monitor) -> None:
    """Adds the fleet's collector to ``registry`` (once per registry)."""
    if id(registry) not in _registered:
        registry.register(FleetCollector(monitor))
        _registered.add(id(registry))
