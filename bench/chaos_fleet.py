"""The fleet under test, as real processes, and the disruptions done to it.

A Redis with AOF (``devtools.localfleet.RedisServer``, restartable on its port and data),
the emulator with the run's fault rates, and worker processes that can be SIGKILLed and
replaced. Every disruption is written down as an :class:`Event` with its time, so the
report can say what was done and the recovery tracker can measure from it.
"""

from __future__ import annotations

import random
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from devtools.localfleet import (
    EmulatorCredentials,
    RedisServer,
    fleet_env,
    start_worker,
    stop_process,
    wait_workers_ready,
)
from emulator.control import EmulatorProcess, start_emulator

# Short, so recovery is measured in seconds: a started step is kept leased by its worker's
# heartbeat (every lease / 3), so the lease only has to outlast a few missed beats, and a
# message no worker has started comes back after the pickup window.
FAST_SETTINGS = {
    "JOBFLEET_PICKUP_S": "6",
    "JOBFLEET_POLL_INITIAL_S": "1",
    "JOBFLEET_POLL_FACTOR": "1.5",
    "JOBFLEET_POLL_CAP_S": "5",
    "JOBFLEET_DISPATCH_INTERVAL_S": "0.2",
    "JOBFLEET_HTTP_TIMEOUT_S": "5",
    "JOBFLEET_MAX_STEP_ERRORS": "8",
}
DEFAULT_LEASE_S = 6.0
RETRY_AFTER_S = 1  # what injected 429s ask for


@dataclass
class Event:
    """One disruption: what, to whom, when (monotonic and seconds into the run)."""

    kind: str  # "kill" | "redis-restart" | "redis-kill" | "worker-exit"
    target: str
    at: float
    offset_s: float
    down_s: float = 0.0  # how long the target was unavailable (Redis)


@dataclass
class ChaosFleet:
    """Redis + emulator + workers in ``workdir``; every child is stopped by :meth:`close`."""

    workdir: Path
    workers: int
    lease_s: float = DEFAULT_LEASE_S
    faults: dict[str, float] = field(default_factory=dict)
    seed: int = 0
    redis: RedisServer | None = None
    emulator: EmulatorProcess | None = None
    env: dict = field(default_factory=dict)
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    credentials: EmulatorCredentials = field(default_factory=EmulatorCredentials.generate)
    started: float = field(default_factory=time.monotonic)
    _spawned: int = 0

    @property
    def logdir(self) -> Path:
        return self.workdir / "logs"

    def start(self) -> ChaosFleet:
        """Starts Redis, the emulator (with the faults) and the workers."""
        self.logdir.mkdir(parents=True, exist_ok=True)
        self.redis = RedisServer(self.workdir / "redis").start()
        self.emulator = start_emulator(self._emulator_args(), log_path=self.logdir / "emulator.log")
        url = self.emulator.root_url
        self.env = fleet_env(self.redis.url, url, self.workdir / "results", self.credentials,
                             **FAST_SETTINGS, JOBFLEET_LEASE_S=str(self.lease_s))
        for _ in range(self.workers):
            self.spawn_worker()
        self.started = time.monotonic()
        return self

    def _emulator_args(self) -> list[str]:
        args = ["--seed", str(self.seed), "--retry-after", str(RETRY_AFTER_S)]
        for name, rate in self.faults.items():
            args += [f"--fault-{name}", str(rate)]
        if self.faults.get("slow"):
            args += ["--slow-s", "8"]  # slower than the HTTP timeout: the client gives up
        return args + self.credentials.emulator_args()  # only this run's credentials get in

    def wait_ready(self, timeout_s: float) -> None:
        """Waits until every worker has logged that it is ready to take tasks."""
        wait_workers_ready(self.procs, self.logdir, timeout_s)

    def served(self) -> list[str]:
        return list(self.emulator.control.health()["providers"])

    def spawn_worker(self) -> str:
        """Starts one more worker (a new name each time); does not wait for it to be ready."""
        name = f"chaos{self._spawned}"
        self._spawned += 1
        self.procs[name] = start_worker(self.env, name, self.logdir / f"{name}.log")
        return name

    def now_s(self) -> float:
        return time.monotonic() - self.started

    def kill_random_worker(self, rng: random.Random) -> Event:
        """SIGKILLs one live worker and starts its replacement at once."""
        alive = [name for name, proc in self.procs.items() if proc.poll() is None]
        if not alive:
            return self._event("kill", "(no live worker)")
        victim = rng.choice(sorted(alive))
        event = self._event("kill", victim)
        proc = self.procs.pop(victim)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        self.spawn_worker()
        return event

    def restart_redis(self, hard: bool = False) -> Event:
        """Restarts Redis on the same port and data: SIGTERM (AOF flushed) or SIGKILL."""
        event = self._event("redis-kill" if hard else "redis-restart", "redis")
        self.redis.stop(signal.SIGKILL if hard else signal.SIGTERM)
        self.redis.start()
        event.down_s = round(time.monotonic() - event.at, 2)
        return event

    def replace_dead_workers(self) -> list[Event]:
        """Workers that died without our doing are noted and replaced (a fleet bug to report)."""
        events = []
        for name, proc in list(self.procs.items()):
            if proc.poll() is not None:
                events.append(self._event("worker-exit", f"{name} (exit {proc.returncode})"))
                del self.procs[name]
                self.spawn_worker()
        return events

    def _event(self, kind: str, target: str) -> Event:
        event = Event(kind, target, time.monotonic(), round(self.now_s(), 2))
        self.events.append(event)
        return event

    def close(self) -> None:
        """Stops workers (warm shutdown), the emulator and Redis."""
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)  # all at once: warm shutdowns overlap
        for proc in self.procs.values():
            stop_process(proc, grace_s=15)
        self.procs.clear()
        if self.emulator is not None:
            self.emulator.stop()
        if self.redis is not None:
            self.redis.stop()
