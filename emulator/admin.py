"""Control endpoints, `/_emulator/*`: stats, settings, reset and job records.

They live on the root application, outside every provider, so faults and latency never touch
them and they never count in a provider's stats. `emulator.control.EmulatorControl` is the
matching client.

| endpoint                                   | does                                           |
|--------------------------------------------|------------------------------------------------|
| `GET  /_emulator/health`                   | `{"status": "ok", "providers": [...]}`         |
| `GET  /_emulator/stats[?brief=1]`          | counters per provider plus `totals`            |
| `GET  /_emulator/config`                   | current settings per provider                  |
| `POST /_emulator/config`                   | change settings (see `Emulator.configure`)     |
| `POST /_emulator/reset`                    | forget all jobs, files and counters            |
| `GET  /_emulator/jobs/{provider}/{id}`     | one job record with its decided outcome        |
| `POST /_emulator/plans`                    | overrides for jobs yet to come, by input key   |

`POST /_emulator/plans` takes `{"provider": "openprotein", "plans": {"<key>": {...}}}`: the
`_emulator` override (same keys as inside a payload) for the job whose input key is `<key>`
(OpenProtein: its first sequence). It is how a job says how to behave when its payload has
no free-form field to carry the override; the client sending the job knows nothing of it.
"""

from __future__ import annotations

from aiohttp import web

from emulator.app import Emulator
from emulator.clock import OverrideError
from emulator.settings import SettingsError


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"message": message}, status=status)


class AdminApi:
    """Handlers for the control routes, bound to one `Emulator`."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    def routes(self) -> list[web.RouteDef]:
        """The `/_emulator/*` routes."""
        return [
            web.get("/_emulator/health", self.health),
            web.get("/_emulator/stats", self.stats),
            web.get("/_emulator/config", self.get_config),
            web.post("/_emulator/config", self.post_config),
            web.post("/_emulator/reset", self.reset),
            web.get("/_emulator/jobs/{provider}/{remote_id}", self.job),
            web.post("/_emulator/plans", self.plans),
        ]

    async def health(self, request: web.Request) -> web.Response:
        """Liveness, and which providers this process serves."""
        return web.json_response({"status": "ok", "providers": list(self.emulator.providers)})

    async def stats(self, request: web.Request) -> web.Response:
        """The stats document; `?brief=1` leaves out the per-tag/payload/file maps."""
        brief = request.query.get("brief", "").lower() in ("1", "true", "yes")
        return web.json_response(self.emulator.stats(brief=brief))

    async def get_config(self, request: web.Request) -> web.Response:
        """Current settings per provider."""
        return web.json_response(self.emulator.config())

    async def post_config(self, request: web.Request) -> web.Response:
        """Change settings; answers the new settings, or 400 and changes nothing."""
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "body must be JSON")
        if not isinstance(body, dict):
            return _error(400, "body must be a JSON object")
        try:
            return web.json_response(self.emulator.configure(body))
        except SettingsError as exc:
            return _error(400, str(exc))

    async def reset(self, request: web.Request) -> web.Response:
        """Forget all jobs, files and counters."""
        self.emulator.reset()
        return web.json_response({"status": "reset"})

    async def job(self, request: web.Request) -> web.Response:
        """One job record, including the outcome the emulator decided for it."""
        name, remote_id = request.match_info["provider"], request.match_info["remote_id"]
        provider = self.emulator.providers.get(name)
        if provider is None:
            return _error(404, f"unknown provider {name!r}")
        record = provider.ctx.jobs.get(remote_id)
        if record is None:
            return _error(404, f"no {name} job {remote_id!r}")
        return web.json_response(provider.describe_job(record, self.emulator.clock.now()))


    async def plans(self, request: web.Request) -> web.Response:
        """Keep overrides for jobs to come; 400 (and nothing kept) if one is malformed."""
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "body must be JSON")
        provider = self.emulator.providers.get(body.get("provider")) if isinstance(
            body, dict) else None
        plans = body.get("plans") if isinstance(body, dict) else None
        if provider is None or not isinstance(plans, dict):
            return _error(400, 'body must be {"provider": <served provider>, "plans": {...}}')
        try:
            for override in plans.values():
                provider.check_override(override)
        except OverrideError as exc:
            return _error(400, str(exc))
        provider.ctx.plans.update(plans)
        return web.json_response({"planned": len(provider.ctx.plans)})


def admin_routes(emulator: Emulator) -> list[web.RouteDef]:
    """The control routes bound to one `Emulator`."""
    return AdminApi(emulator).routes()
