"""The README is true to the code: its examples run as written, its links stay inside the
repository."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from devtools.localfleet import REPO

pytestmark = pytest.mark.integration

README = (REPO / "README.md").read_text()


def blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```$", README, flags=re.M | re.S)


def cli(args: list[str], env: dict, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "producers.cli", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_the_job_file_example_runs_as_written(fleet, fleet_environment, tmp_path):
    [example] = blocks("jsonl")
    (tmp_path / "screen.jsonl").write_text(example)
    submitted = cli(["submit", "screen.jsonl"], fleet_environment, tmp_path)
    assert submitted.returncode == 0, submitted.stderr
    assert submitted.stdout.strip() == "screen"
    assert cli(["wait", "screen", "--timeout", "60"], fleet_environment, tmp_path).returncode == 0
    lines = [json.loads(x) for x in
             cli(["results", "screen"], fleet_environment, tmp_path).stdout.splitlines()]
    assert [(x["key"], x["state"]) for x in lines] == [("dock-0042", "succeeded"),
                                                       ("msa-0001", "succeeded")]


def test_the_python_api_example_runs_as_written(fleet, fleet_environment, tmp_path):
    [example] = blocks("python")
    run = subprocess.run([sys.executable, "-c", example], env=fleet_environment, cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    printed = run.stdout.splitlines()
    assert "'batch': 'api-example'" in printed[0] and len(printed) == 5


def test_links_stay_inside_the_repository():
    for doc in (REPO / "README.md", REPO / "emulator" / "README.md", REPO / "bench" / "README.md"):
        text = doc.read_text()
        assert "../shared" not in text, doc
        for target in re.findall(r"\]\(([^)#]+)", text):
            if target.startswith(("http://", "https://")):
                continue
            resolved = (doc.parent / target).resolve()
            assert REPO in resolved.parents and resolved.exists(), (doc, target)
