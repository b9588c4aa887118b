"""The systems a benchmark runs: jobfleet, and the usual Celery pattern (``bench.naive``).

Each is a fresh Redis and ``workers`` real worker processes (threads pool, 16 threads)
against an emulator the caller owns, so two systems can be run one after the other on the
same emulator. Both answer the same questions — enqueue these jobs, how many are still in
flight, and per job: remote id, terminal state, when our record became terminal — which
is all :mod:`bench.runs` needs to judge them against the emulator.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import redis

from config.settings import FleetSettings
from devtools.localfleet import (
    EmulatorCredentials,
    RedisServer,
    fleet_env,
    start_worker,
    stop_process,
    wait_workers_ready,
)
from emulator.control import EmulatorProcess, start_emulator
from producers.api import Fleet, UnknownBatch
from worker.record import TERMINAL

READY_TIMEOUT_S = 120  # workers on a loaded 2-core machine take a few seconds each
NAIVE_STATES = {"Completed": "succeeded", "Succeeded": "succeeded", "Failed": "failed",
                "Cancelled": "cancelled"}


def run_emulator(credentials: EmulatorCredentials, seed: int, workdir: Path) -> EmulatorProcess:
    """The emulator one benchmark run owns: accepting ``credentials``, seeded with ``seed``,
    logging to ``workdir/emulator.log``."""
    workdir.mkdir(parents=True, exist_ok=True)
    return start_emulator(["--seed", str(seed), *credentials.emulator_args()],
                          log_path=workdir / "emulator.log")


@dataclass(frozen=True)
class Outcome:
    """One job as the system under test recorded it."""

    key: str
    remote_id: str | None
    state: str | None  # succeeded | failed | cancelled | None while not terminal
    terminal_at: float | None  # epoch seconds our record became terminal
    seen_at: float | None = None  # epoch seconds we saw the remote job ended (jobfleet only)


@dataclass
class System:
    """Redis + worker processes; subclasses say which app and how to enqueue and read."""

    workdir: Path
    emulator_url: str
    credentials: EmulatorCredentials
    workers: int
    settings: Mapping[str, str] = field(default_factory=dict)
    name = "system"
    app = "worker.app"
    worker_args: Sequence[str] = ()
    redis: RedisServer | None = None
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def logdir(self) -> Path:
        return self.workdir / "logs"

    @property
    def redis_url(self) -> str:
        return self.redis.url

    def start(self) -> System:
        """Starts Redis and the workers; returns once every worker is ready."""
        self.logdir.mkdir(parents=True, exist_ok=True)
        self.redis = RedisServer(self.workdir / "redis").start()
        env = fleet_env(self.redis.url, self.emulator_url, self.workdir / "results",
                        self.credentials, NAIVE_REDIS_URL=self.redis.url, **self.settings)
        for i in range(self.workers):
            name = f"{self.name}{i}"
            self.procs[name] = start_worker(env, name, self.logdir / f"{name}.log",
                                            list(self.worker_args), app=self.app)
        wait_workers_ready(self.procs, self.logdir, READY_TIMEOUT_S)
        return self

    def pids(self) -> list[int]:
        return [proc.pid for proc in self.procs.values()]

    def enqueue(self, jobs: list[dict[str, Any]]) -> None:
        raise NotImplementedError

    def in_flight(self) -> int:
        raise NotImplementedError

    def outcomes(self) -> list[Outcome]:
        raise NotImplementedError

    def close(self) -> None:
        """Stops the workers (warm shutdown, all at once) and Redis."""
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            stop_process(proc, grace_s=20)
        self.procs.clear()
        if self.redis is not None:
            self.redis.stop()


@dataclass
class JobfleetSystem(System):
    """The fleet itself, enqueued through ``producers.api.Fleet`` as one batch."""

    name = "jobfleet"
    batch: str = "bench"
    fleet: Fleet | None = None

    def enqueue(self, jobs: list[dict[str, Any]]) -> None:
        self.fleet = Fleet(FleetSettings(redis_url=self.redis_url))
        self.fleet.enqueue_batch(jobs, batch=self.batch)

    def in_flight(self) -> int:
        if self.fleet is None:
            return 0
        try:
            states = self.fleet.status(self.batch)["states"]
        except UnknownBatch:
            return 0
        return sum(n for state, n in states.items() if state not in TERMINAL)

    def outcomes(self) -> list[Outcome]:
        out = []
        store = self.fleet.store
        for ids in store.batch_job_ids(self.batch):
            for job in store.get_many(ids):
                at = job.times.get(job.state) if job.terminal else None
                out.append(Outcome(job.key, job.remote_id, job.state if job.terminal else None,
                                   at, job.seen_ended_at))
        return out

    def close(self) -> None:
        if self.fleet is not None:
            self.fleet.close()
        super().close()


@dataclass
class NaiveSystem(System):
    """The baseline app of :mod:`bench.naive.app`: one ``submit.delay`` per job."""

    name = "naive"
    app = "bench.naive.app"
    worker_args: Sequence[str] = ("--queues=celery",)
    keys: list[str] = field(default_factory=list)

    def enqueue(self, jobs: list[dict[str, Any]]) -> None:
        from bench.naive.app import app, submit

        app.conf.update(broker_url=self.redis_url, result_backend=self.redis_url)
        self.keys = [job["key"] for job in jobs]
        for job in jobs:
            submit.delay(job["key"], job["params"])

    def in_flight(self) -> int:
        from bench.naive.app import DONE_KEY

        client = redis.Redis.from_url(self.redis_url, socket_timeout=10)
        try:
            return len(self.keys) - int(client.get(DONE_KEY) or 0)
        finally:
            client.close()

    def outcomes(self) -> list[Outcome]:
        from bench.naive.app import poll_task_id

        client = redis.Redis.from_url(self.redis_url, socket_timeout=30)
        pipe = client.pipeline(transaction=False)
        for key in self.keys:
            pipe.get(f"celery-task-meta-{poll_task_id(key)}")
        metas = pipe.execute()
        client.close()
        return [_naive_outcome(key, raw) for key, raw in zip(self.keys, metas)]


def _naive_outcome(key: str, raw: bytes | None) -> Outcome:
    meta = json.loads(raw) if raw else {}
    result = meta.get("result") if meta.get("status") == "SUCCESS" else None
    if not isinstance(result, dict):
        return Outcome(key, None, None, None)
    done = datetime.fromisoformat(meta["date_done"]).timestamp()
    return Outcome(key, result["execution_id"], NAIVE_STATES.get(result["status"], "unknown"),
                   done)
