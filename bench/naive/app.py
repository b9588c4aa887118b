"""The baseline: how a Celery user drives Deep Origin jobs by hand.

A ``submit`` task POSTs the execution, then hands its id to a ``poll`` task that GETs it and
calls ``self.retry(countdown=5)`` until the execution ends, as the platform's own client
polls (first look at once, then every 5 s). Celery's defaults otherwise: Redis broker and
result backend, early acks, a prefetch multiplier of 4, the poll's return value kept in the
result backend. Settings come from the official client's ``DO_*`` variables.

Written for the benchmark so that jobfleet is compared with a fair version of the usual
pattern, not a strawman: one HTTP session per thread, the cluster asked for once per process.
The only line that exists for measuring is the ``INCR`` of :data:`DONE_KEY` when a job ends
(the bench counts jobs still in flight with it); a poll's terminal time is the result
backend's own ``date_done``.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import requests
from celery import Celery

POLL_EVERY_S = 5  # the official client's default poll interval
TERMINAL = frozenset({"Completed", "Succeeded", "Failed", "Cancelled", "FailedQuotation"})
DONE_KEY = "naive:done"
V2_ACCEPT = "application/json;v=2.0"

app = Celery("naive-baseline")
app.conf.update(
    broker_url=os.environ.get("NAIVE_REDIS_URL", "redis://localhost:6379/0"),
    result_backend=os.environ.get("NAIVE_REDIS_URL", "redis://localhost:6379/0"),
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)

_local = threading.local()
_cluster: dict[str, str] = {}


def _session() -> requests.Session:
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
        session.headers["Authorization"] = f"Bearer {os.environ['DO_AUTH_TOKEN']}"
    return session


def _url(path: str) -> str:
    return f"{os.environ['DO_BASE_URL'].rstrip('/')}/tools/{os.environ['DO_ORG_KEY']}{path}"


def _cluster_id() -> str:
    if "id" not in _cluster:
        answer = _session().get(_url("/clusters"), timeout=30)
        answer.raise_for_status()
        _cluster["id"] = answer.json()["data"][0]["id"]
    return _cluster["id"]


@app.task(bind=True, name="naive.submit", autoretry_for=(requests.RequestException,),
          retry_backoff=True, max_retries=5)
def submit(self, key: str, params: dict[str, Any]) -> str:
    """Creates the execution and starts polling it; returns the execution id."""
    body = {"inputs": params["inputs"], "outputs": {}, "projectId": os.environ["DO_PROJECT_ID"],
            "clusterId": _cluster_id(), "metadata": {"key": key}}
    path = f"/tools/{params['tool']}/{params.get('version', 'latest')}/executions"
    answer = _session().post(_url(path), json=body, timeout=30)
    answer.raise_for_status()
    execution_id = answer.json()["executionId"]
    poll.apply_async(args=[key, execution_id], task_id=poll_task_id(key))
    return execution_id


@app.task(bind=True, name="naive.poll", max_retries=None)
def poll(self, key: str, execution_id: str) -> dict[str, Any]:
    """One status check; retries itself in 5 s until the execution has ended."""
    try:
        answer = _session().get(_url(f"/tools/executions/{execution_id}"),
                                headers={"Accept": V2_ACCEPT}, timeout=30)
        answer.raise_for_status()
        record = answer.json()
    except requests.RequestException as exc:
        raise self.retry(countdown=POLL_EVERY_S, exc=exc) from exc
    if record.get("status") not in TERMINAL:
        raise self.retry(countdown=POLL_EVERY_S)
    app.backend.client.incr(DONE_KEY)
    return {"key": key, "execution_id": execution_id, "status": record["status"],
            "outputs": record.get("jobOutputs") or record.get("outputs")}


def poll_task_id(key: str) -> str:
    """The poll task's id for a job key: retries keep it, so its result is found by key."""
    return f"naive-poll-{key}"
