"""Private virtualenvs for the providers' official clients.

Each official SDK drags in its own pins (httpx, pyjwt, pydantic ...), so it must never be
installed into the project's `.venv`. Instead every client gets `<repo>/.venvs/<name>`, built
from `tests/conformance/requirements-<name>.txt`. The env is rebuilt only when that file (or
the interpreter building it) changes: a marker file inside the env holds the hash it was built
from. A file lock keeps two concurrent pytest runs from building the same env at once.

Run `python -m tests.conformance.envs deeporigin` to build one ahead of a test run.
"""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import subprocess
import sys
import venv
from pathlib import Path

CONFORMANCE_DIR = Path(__file__).resolve().parent
REPO_ROOT = CONFORMANCE_DIR.parent.parent
VENVS_DIR = REPO_ROOT / ".venvs"
MARKER_NAME = ".requirements.sha256"
# A first install downloads a few wheels; generous, but bounded so a hung pip cannot hang CI.
INSTALL_TIMEOUT_S = 900


class EnvBuildError(RuntimeError):
    """Raised when a client env cannot be created; carries pip's output tail."""


def requirements_file(name: str) -> Path:
    """Return the requirements file that defines the env `name`."""
    return CONFORMANCE_DIR / f"requirements-{name}.txt"


def env_dir(name: str) -> Path:
    """Return where the env `name` lives (it may not exist yet)."""
    return VENVS_DIR / name


def env_python(name: str) -> Path:
    """Return the interpreter of the env `name`."""
    return env_dir(name) / "bin" / "python"


def requirements_hash(name: str) -> str:
    """Hash what the env is built from: the requirements text and the base interpreter."""
    digest = hashlib.sha256(requirements_file(name).read_bytes())
    digest.update(sys.version.encode())
    return digest.hexdigest()


def is_fresh(name: str) -> bool:
    """True when the env exists and was built from the current requirements."""
    marker = env_dir(name) / MARKER_NAME
    if not env_python(name).exists() or not marker.exists():
        return False
    return marker.read_text().strip() == requirements_hash(name)


def ensure_env(name: str) -> Path:
    """Create or refresh the env `name` if it is missing or stale; return its python.

    Raises FileNotFoundError when there is no requirements file, and EnvBuildError when pip
    fails (the half-built env is removed so the next run starts clean).
    """
    reqs = requirements_file(name)
    if not reqs.exists():
        raise FileNotFoundError(reqs)
    VENVS_DIR.mkdir(exist_ok=True)
    with open(VENVS_DIR / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not is_fresh(name):
            _build(name, reqs)
    return env_python(name)


def _build(name: str, reqs: Path) -> None:
    """Build the env from scratch; only ever deletes `.venvs/<name>` itself."""
    target = env_dir(name)
    if target.exists():
        shutil.rmtree(target)
    venv.EnvBuilder(with_pip=True, clear=True).create(target)
    command = [
        str(env_python(name)), "-m", "pip", "install", "--disable-pip-version-check",
        "--quiet", "-r", str(reqs),
    ]
    try:
        proc = subprocess.run(
            command, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired as exc:
        shutil.rmtree(target, ignore_errors=True)
        raise EnvBuildError(f"pip install for {name} timed out") from exc
    if proc.returncode != 0:
        shutil.rmtree(target, ignore_errors=True)
        tail = (proc.stdout + proc.stderr)[-2000:]
        raise EnvBuildError(f"pip install for {name} failed:\n{tail}")
    (target / MARKER_NAME).write_text(requirements_hash(name) + "\n")


if __name__ == "__main__":
    for env_name in sys.argv[1:] or ["deeporigin"]:
        print(ensure_env(env_name))
