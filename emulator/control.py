"""Drive a running emulator from Python: start it as a subprocess, read stats, inject faults.

Used by the pytest fixture (`tests/fixtures/emulator.py`), the demo and the benchmarks, so it
depends only on `requests` and the standard library.

    with start_emulator(["--duration", "fixed:0.5"]) as proc:
        do_url = proc.control.base_url("deeporigin")
        proc.control.configure("deeporigin", fault_5xx=0.1)
        print(proc.control.stats()["deeporigin"]["executions_created"])
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import requests

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
# Start-up is well under a second; allow for a loaded 2-core CI machine.
READY_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 5.0
START_ATTEMPTS = 3


class EmulatorError(RuntimeError):
    """The emulator could not be started, or a control call failed."""


class EmulatorControl:
    """HTTP client for the `/_emulator/*` control endpoints of one emulator."""

    def __init__(self, root_url: str, *, timeout: float = 10.0) -> None:
        self.root_url = root_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()

    @property
    def url(self) -> str:
        """`http://host:port` of the emulator (providers live under `/<name>`)."""
        return self.root_url

    def base_url(self, provider: str) -> str:
        """The base URL to hand to a provider's client, e.g. `http://h:p/deeporigin`."""
        return f"{self.root_url}/{provider}"

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.session.request(
                method, f"{self.root_url}/_emulator/{path}", timeout=self.timeout, **kwargs
            )
        except requests.RequestException as exc:
            raise EmulatorError(f"{method} /_emulator/{path} failed: {exc}") from exc
        if response.status_code >= 400:
            raise EmulatorError(
                f"{method} /_emulator/{path}: {response.status_code} {response.text[:500]}"
            )
        return response.json()

    def health(self) -> dict[str, Any]:
        """`{"status": "ok", "providers": [...]}`; raises EmulatorError when unreachable."""
        return self._call("GET", "health")

    def stats(self, *, brief: bool = False) -> dict[str, Any]:
        """The stats document (see emulator/README.md for its shape)."""
        return self._call("GET", "stats", params={"brief": "1"} if brief else None)

    def provider_stats(self, provider: str) -> dict[str, Any]:
        """Just one provider's part of the stats."""
        return self.stats()[provider]

    def config(self) -> dict[str, Any]:
        """Current settings per provider."""
        return self._call("GET", "config")

    def configure(self, provider: str | None = None, **settings: Any) -> dict[str, Any]:
        """Change settings (e.g. `fault_5xx=0.1`) for one provider, or all when None."""
        body = dict(settings)
        if provider is not None:
            body["provider"] = provider
        return self._call("POST", "config", json=body)

    def restore_defaults(self, provider: str | None = None) -> dict[str, Any]:
        """Put the start-up settings back (for one provider, or all)."""
        return self.configure(provider, restore_defaults=True)

    def reset(self) -> None:
        """Forget every job, file and counter."""
        self._call("POST", "reset")

    def plan(self, provider: str, plans: dict[str, dict[str, Any]]) -> None:
        """Overrides for jobs yet to be created, by input key (OpenProtein: first sequence)."""
        if plans:
            self._call("POST", "plans", json={"provider": provider, "plans": plans})

    def plan_jobs(self, jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Job lines ready to submit: overrides that only the emulator may read sent ahead
        (see :func:`emulator.samples.split_plans`), the lines returned without them."""
        from emulator.samples import split_plans

        clean, plans = split_plans(jobs)
        for provider, by_key in plans.items():
            self.plan(provider, by_key)
        return clean

    def job(self, provider: str, remote_id: str) -> dict[str, Any]:
        """The emulator's record of one remote job, including its decided outcome."""
        return self._call("GET", f"jobs/{provider}/{remote_id}")

    def wait_ready(self, timeout: float = READY_TIMEOUT_S, process: Any = None) -> None:
        """Poll health until it answers; stop early if `process` (a Popen) has exited."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.health()
                return
            except EmulatorError:
                if process is not None and process.poll() is not None:
                    raise EmulatorError(f"emulator exited with code {process.returncode}") from None
                if time.monotonic() > deadline:
                    raise EmulatorError(f"emulator not ready after {timeout}s") from None
                time.sleep(0.05)

    def close(self) -> None:
        """Close the HTTP session."""
        self.session.close()


class EmulatorProcess:
    """A running `python -m emulator` subprocess; a context manager that stops it on exit."""

    def __init__(self, process: subprocess.Popen[bytes], control: EmulatorControl, log: Path):
        self.process = process
        self.control = control
        self.log_path = log

    @property
    def root_url(self) -> str:
        """`http://host:port` of the emulator."""
        return self.control.root_url

    def log_tail(self, chars: int = 4000) -> str:
        """The end of the emulator's stdout/stderr, for error messages."""
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """SIGTERM, then SIGKILL if it does not exit within `timeout`."""
        self.control.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)

    def __enter__(self) -> EmulatorProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago (start_emulator retries if someone takes it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def start_emulator(
    args: Sequence[str] = (),
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    python: str = sys.executable,
    log_path: Path | None = None,
    ready_timeout: float = READY_TIMEOUT_S,
) -> EmulatorProcess:
    """Start `python -m emulator` on `host` (a free port unless given) and wait until ready.

    Output goes to `log_path` (a temp file by default). Raises EmulatorError with the log tail
    when it does not come up; a port lost to a race is retried with a new one.
    """
    log = log_path or Path(tempfile.mkstemp(prefix="emulator-", suffix=".log")[1])
    python_path = os.pathsep.join(filter(None, [str(PACKAGE_ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": python_path, "PYTHONUNBUFFERED": "1"}
    last_error: EmulatorError | None = None
    for _ in range(START_ATTEMPTS if port is None else 1):
        chosen = port if port is not None else free_port(host)
        command = [python, "-m", "emulator", "--host", host, "--port", str(chosen), *args]
        with open(log, "ab") as out:
            process = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, cwd=PACKAGE_ROOT, env=env
            )
        running = EmulatorProcess(process, EmulatorControl(f"http://{host}:{chosen}"), log)
        try:
            running.control.wait_ready(ready_timeout, process)
            return running
        except EmulatorError as exc:
            running.stop()
            last_error = EmulatorError(f"{exc}\n--- emulator log ---\n{running.log_tail()}")
    raise last_error or EmulatorError("emulator did not start")
