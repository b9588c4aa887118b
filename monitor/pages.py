"""The fleet's pages inside Flower: batches, one batch, one job, and the fleet per platform.

Each handler is a Flower handler, so Flower's login guards it. Redis reads run on Flower's
thread pool (never on the event loop) and cost O(what the page shows): see
:mod:`monitor.batches` and :mod:`monitor.fleet`.
"""

from __future__ import annotations

import contextlib
import json
import time

from flower.views import BaseHandler
from tornado import web
from tornado.ioloop import IOLoop

from monitor import batches, charts, fleet
from worker.record import STATES, Job, make_job_id
from worker.store import JobStore

PAGE_SIZE = 50  # batches per page of the batch list


class MonitorPage(BaseHandler):
    """Shared by our pages: the monitor context and blocking reads off the event loop."""

    @property
    def monitor(self):
        return self.application.monitor

    async def blocking(self, fn, *args):
        return await IOLoop.current().run_in_executor(None, fn, *args)

    def may_act(self) -> bool:
        """Whether this Flower lets the page change things (cancel): a login is configured
        (or Flower's API was explicitly opened) and Flower is not read-only."""
        opts = self.application.options
        allowed = bool(opts.basic_auth or opts.auth) or self.unauthenticated_api
        return allowed and not opts.read_only

    def render(self, template_name: str, **kwargs) -> None:
        super().render(template_name, states=STATES, since=since, clock=clock, **kwargs)


class BatchesPage(MonitorPage):
    @web.authenticated
    async def get(self) -> None:
        page = max(self.get_argument("page", 1, type=int), 1)
        count, rows = await self.blocking(batches.batch_list, self.monitor.redis,
                                          (page - 1) * PAGE_SIZE, PAGE_SIZE)
        self.render("jobfleet_batches.html", rows=rows, count=count, page=page,
                    pages=max((count + PAGE_SIZE - 1) // PAGE_SIZE, 1), now=time.time())


class BatchPage(MonitorPage):
    @web.authenticated
    async def get(self, batch: str) -> None:
        found = await self.blocking(batches.detail, self.monitor.redis, batch)
        if found is None:
            raise web.HTTPError(404, f"no batch {batch!r}")
        chart = charts.progress_svg(found.cumulative(), found.summary.total,
                                    found.summary.created_at)
        self.render("jobfleet_batch.html", b=found, s=found.summary, chart=chart,
                    may_act=self.may_act(), now=time.time())


class CancelBatch(MonitorPage):
    """The batch page's cancel button: needs a login, like Flower's own controls."""

    @web.authenticated
    async def post(self, batch: str) -> None:
        if not self.may_act():
            raise web.HTTPError(403, "cancelling needs Flower's login (FLOWER_BASIC_AUTH) and "
                                     "a Flower that is not read-only")
        status = await self.blocking(self.monitor.fleet.status, batch)
        if not status["done"]:
            await self.blocking(lambda: self.monitor.fleet.cancel(batch=batch))
        self.redirect(self.reverse_url("jobfleet-batch", batch))


class JobPage(MonitorPage):
    """One job, found by ``?id=`` or by ``?batch=&key=`` (its id is derived from those)."""

    @web.authenticated
    async def get(self) -> None:
        job_id = self.get_argument("id", "", escape=False).strip()
        batch = self.get_argument("batch", "", escape=False).strip()
        key = self.get_argument("key", "", escape=False)
        if not job_id and batch and key:
            job_id = make_job_id(batch, key)
        if not job_id:
            raise web.HTTPError(400, "give ?id=JOB or ?batch=BATCH&key=KEY")
        job = await self.blocking(JobStore(self.monitor.redis).get, job_id)
        if job is None:
            raise web.HTTPError(404, f"no job {job_id!r}")
        self.render("jobfleet_job.html", job=job, timeline=timeline(job),
                    params=json.dumps(job.params, indent=2, sort_keys=True), extra=extra(job))


class FleetPage(MonitorPage):
    @web.authenticated
    async def get(self) -> None:
        m = self.monitor
        states = await self.blocking(fleet.read_fleet, m.redis, m.platforms, m.limit_of)
        counts = await self.blocking(fleet.job_counts, m.redis)
        self.render("jobfleet_fleet.html", platforms=states, counts=counts)


TIMES = ("remote_ended_at", "seen_ended_at", "next_poll", "deadline_at")  # besides t_{state}


def timeline(job: Job) -> list[tuple[str, float, float]]:
    """The record's times as (name, epoch, seconds after queueing), in order: ``t_{state}``
    for each state entered, and the platform's end, our noticing it, next poll, deadline."""
    marks = [(f"t_{state}", at) for state, at in job.times.items()]
    marks += [(name, getattr(job, name)) for name in TIMES if getattr(job, name) is not None]
    marks.sort(key=lambda m: m[1])
    start = job.times.get("queued", marks[0][1] if marks else 0.0)
    return [(name, at, at - start) for name, at in marks]


SHOWN = ("remote_id", "remote_state", "result", "file_id", "file_to", "reason", "error",
         "last_error", "polls", "errors", "submit_attempts", "deadline_s", "max_price")


def extra(job: Job) -> list[tuple[str, str]]:
    """The record fields a person looks at, in a useful order (unset ones left out)."""
    out = []
    for name in SHOWN:
        value = getattr(job, name)
        if value in (None, ""):
            continue
        if name == "result":  # the result's manifest: where its files are, easier read laid out
            with contextlib.suppress(ValueError):
                value = json.dumps(json.loads(value), indent=2, sort_keys=True)
        out.append((name, str(value)))
    return out


def clock(epoch: float | None) -> str:
    """A UTC time of day with the date, or a dash."""
    if not epoch:
        return "—"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(epoch))


def since(seconds: float | None) -> str:
    """A short human duration: 42s, 3m 05s, 2h 10m, 3d 4h."""
    if seconds is None:
        return "—"
    s = int(max(seconds, 0))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{s // 86400}d {s % 86400 // 3600}h"
