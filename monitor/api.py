"""Enqueue and follow batches over HTTP, for backends that cannot use ``producers.Fleet``.

Served by ``jobfleet flower`` beside the pages, behind the same login (like Flower's own API,
it is refused when no login is configured unless ``FLOWER_UNAUTHENTICATED_API`` is set)::

    POST /jobfleet/api/batches[?batch=NAME]     JSON array or JSONL body of job lines
    GET  /jobfleet/api/batches/{batch}          the `jobfleet status --json` object
    GET  /jobfleet/api/batches/{batch}/results  JSONL, as `jobfleet results`
    POST /jobfleet/api/batches/{batch}/cancel

Job lines get exactly ``jobfleet submit``'s validation and per-line errors; good lines are
enqueued, bad ones named; sending the same lines again creates nothing new. The body is
bounded (``JOBFLEET_API_MAX_BODY_BYTES``) and a larger one is refused before it is read.
"""

from __future__ import annotations

import json
from typing import Any

from flower.api import BaseApiHandler
from tornado import web
from tornado.ioloop import IOLoop

from producers.api import UnknownBatch, batch_id_for
from producers.jobfile import parse_lines

RESULTS_PAGE = 1000  # result lines sent per write


class ApiHandler(BaseApiHandler):
    """JSON errors, the login checked before any body is read, blocking work off the loop."""

    def prepare(self) -> None:
        super().prepare()  # Flower's rule: no API without a login unless explicitly opened
        if not self.current_user:
            raise web.HTTPError(401)
        if self.request.method == "POST" and self.application.options.read_only:
            raise web.HTTPError(403, "Flower is read-only")

    @property
    def fleet(self):
        return self.application.monitor.fleet

    async def blocking(self, fn, *args):
        return await IOLoop.current().run_in_executor(None, fn, *args)

    def reply(self, body: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))

    def write_error(self, status_code: int, **kwargs) -> None:
        exc = kwargs.get("exc_info", (None, None))[1]
        message = exc.log_message if isinstance(exc, web.HTTPError) and exc.log_message else None
        if status_code == 401:
            self.set_header("WWW-Authenticate", 'Basic realm="flower"')
        self.reply({"error": message or self._reason}, status_code)


@web.stream_request_body
class Batches(ApiHandler):
    """``POST``: enqueue job lines as a batch."""

    def prepare(self) -> None:
        super().prepare()
        self.limit = self.application.monitor.max_body_bytes
        self.chunks: list[bytes] = []
        self.size = 0
        declared = self.request.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > self.limit:
            raise web.HTTPError(413, self._too_big())
        self.request.connection.set_max_body_size(self.limit + 1)

    def data_received(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size <= self.limit:
            self.chunks.append(chunk)

    async def post(self) -> None:
        if self.size > self.limit:
            raise web.HTTPError(413, self._too_big())
        body = b"".join(self.chunks)
        batch = self.get_argument("batch", None, escape=False) or batch_id_for(body)
        jobs, errors, unit = _parse(body)
        if not jobs and not errors:
            raise web.HTTPError(400, "the body holds no job lines (a JSON array or JSONL)")
        try:
            created = await self.blocking(self.fleet.add_valid, batch, jobs)
        except ValueError as exc:  # an invalid batch name
            raise web.HTTPError(400, str(exc)) from exc
        status = 422 if errors and not jobs else 200
        self.reply({"batch": batch, "accepted": len(jobs), "new": len(created),
                    "already_known": len(jobs) - len(created),
                    "rejected": [{unit: e.line, "error": e.reason} for e in errors]}, status)

    def _too_big(self) -> str:
        return (f"body larger than {self.limit} bytes (JOBFLEET_API_MAX_BODY_BYTES); "
                "send the jobs in several batches or requests")


def _parse(body: bytes) -> tuple[list, list, str]:
    """Job lines from a JSON array (errors name the item, from 1) or JSONL (the line)."""
    text = body.lstrip()
    if not text.startswith(b"["):
        return (*parse_lines(body.splitlines()), "line")
    try:
        items = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise web.HTTPError(400, f"the body starts like a JSON array but is not one: {exc}") \
            from exc
    return (*parse_lines(json.dumps(item) for item in items), "item")


class BatchStatus(ApiHandler):
    async def get(self, batch: str) -> None:
        try:
            self.reply(await self.blocking(self.fleet.status, batch))
        except UnknownBatch as exc:
            raise web.HTTPError(404, f"unknown batch {batch!r}") from exc


class BatchResults(ApiHandler):
    """JSONL, one line per job in submission order, written a page at a time."""

    async def get(self, batch: str) -> None:
        lines = self.fleet.results(batch)
        try:
            page = await self.blocking(_take, lines, RESULTS_PAGE)
        except UnknownBatch as exc:
            raise web.HTTPError(404, f"unknown batch {batch!r}") from exc
        self.set_header("Content-Type", "application/x-ndjson")
        while page:
            self.write("".join(json.dumps(line) + "\n" for line in page))
            await self.flush()
            page = await self.blocking(_take, lines, RESULTS_PAGE)
        self.finish()


def _take(lines, n: int) -> list:
    return [line for _, line in zip(range(n), lines)]


class BatchCancel(ApiHandler):
    async def post(self, batch: str) -> None:
        try:
            status = await self.blocking(self.fleet.status, batch)
        except UnknownBatch as exc:
            raise web.HTTPError(404, f"unknown batch {batch!r}") from exc
        if status["done"]:
            self.reply({"batch": batch, "cancel": "nothing to cancel: every job has ended"})
            return
        await self.blocking(lambda: self.fleet.cancel(batch=batch))
        self.reply({"batch": batch, "cancel": "requested"})
