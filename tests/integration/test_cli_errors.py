"""The CLI as a user meets it: every mistake is one line and a non-zero exit, never a
traceback. Real CLI processes against a real Redis (a database of its own, no workers: the
jobs these tests enqueue stay queued)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading

import pytest
import redis

from devtools.localfleet import REPO

pytestmark = pytest.mark.integration

CLI_DB = 3  # not the fleet's database: no worker ever takes these jobs
PROBE_ATTEMPTS = 4  # the probe's connection attempts, redis-py's default retries included


def job(key: str) -> str:
    return json.dumps({"key": key, "provider": "deeporigin", "kind": "tool",
                       "params": {"tool": "deeporigin.docking", "inputs": {"n": key}}})


@pytest.fixture
def env(redis_server):
    """The CLI's environment on an emptied database of the test Redis."""
    client = redis.Redis(port=redis_server.port, db=CLI_DB)
    client.flushdb()
    client.close()
    return dict(os.environ, PYTHONPATH=str(REPO),
                JOBFLEET_REDIS_URL=f"redis://127.0.0.1:{redis_server.port}/{CLI_DB}")


def cli(args: list[str], env: dict, stdin: bytes | None = None, **extra_env: str):
    return subprocess.run([sys.executable, "-m", "producers.cli", *args],
                          env={**env, **extra_env}, input=stdin, capture_output=True,
                          timeout=60)


def one_line_error(run, *needles: str) -> str:
    """Asserts the run failed with exactly one stderr line containing every needle."""
    err = run.stderr.decode()
    assert run.returncode != 0, err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    for needle in needles:
        assert needle in err, err
    return err


class RefusingRedis:
    """A port that accepts each connection and closes it at once, counting them: a Redis
    that is there and never answers."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return  # closed
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self.sock.close()


@pytest.mark.parametrize("args", [["submit", "jobs.jsonl"], ["status", "b"], ["wait", "b"],
                                  ["results", "b"], ["cancel", "b"]])
def test_an_unreachable_redis_is_named_at_once_without_its_password(args, env, tmp_path):
    """The CLI probes Redis once before its own client, which rides out restarts with
    twenty retries, is used: a wrong URL is named after a few connection attempts instead
    of hanging through all of them."""
    (tmp_path / "jobs.jsonl").write_text(job("k") + "\n")
    server = RefusingRedis()
    try:
        url = f"redis://user:hunter2@127.0.0.1:{server.port}/0"
        run = subprocess.run([sys.executable, "-m", "producers.cli", *args],
                             env={**env, "JOBFLEET_REDIS_URL": url}, cwd=tmp_path,
                             capture_output=True, timeout=120)
    finally:
        server.close()
    err = one_line_error(run, f"cannot reach Redis at redis://user:***@127.0.0.1:{server.port}/0")
    assert "hunter2" not in err
    assert 1 <= server.accepted <= PROBE_ATTEMPTS, (server.accepted, err)


def test_settings_errors_name_the_variable(env):
    one_line_error(cli(["status", "b"], env, JOBFLEET_LEASE_S="abc"), "JOBFLEET_LEASE_S='abc'")
    run = cli(["status", "b"], env, JOBFLEET_REDIS_URL="localhost:6379")
    one_line_error(run, "JOBFLEET_REDIS_URL", "redis://")


@pytest.mark.parametrize(("variable", "value"), [("JOBFLEET_DEEPORIGIN_CREATE_RPS", "-1"),
                                                 ("JOBFLEET_MODERATELY_RPS", "fast"),
                                                 ("JOBFLEET_CONSUMER_STALL_S", "5")])
def test_a_worker_with_a_bad_platform_limit_stops_at_once_naming_it(env, variable, value):
    one_line_error(cli(["worker"], env, **{variable: value}), f"{variable}={value!r}")


def test_an_invalid_batch_name_is_refused(env, tmp_path):
    (tmp_path / "jobs.jsonl").write_text(job("k") + "\n")
    one_line_error(cli(["submit", str(tmp_path / "jobs.jsonl"), "--batch", "a/b"], env),
                   "invalid batch name 'a/b'")
    one_line_error(cli(["status", "../x"], env), "invalid batch name")
    one_line_error(cli(["status", "never-made"], env), "unknown batch 'never-made'")


def test_results_out_into_a_missing_folder_or_for_an_unknown_batch_keeps_files(env, tmp_path):
    path = tmp_path / "b1.jsonl"
    path.write_text(job("k") + "\n")
    assert cli(["submit", str(path)], env).returncode == 0
    one_line_error(cli(["results", "b1", "--out", str(tmp_path / "no" / "x.jsonl")], env),
                   "does not exist")
    kept = tmp_path / "x.jsonl"
    kept.write_text("precious\n")
    one_line_error(cli(["results", "no-such-batch", "--out", str(kept)], env), "unknown batch")
    assert kept.read_text() == "precious\n"
    assert cli(["results", "b1", "--out", str(kept)], env).returncode == 0
    [line] = [json.loads(x) for x in kept.read_text().splitlines()]
    assert line["key"] == "k" and line["id"] and line["state"] == "queued"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_bad_files_create_no_batch_and_cap_their_error_flood(env, tmp_path):
    deep = tmp_path / "deep.jsonl"
    deep.write_text("[" * 100_000 + "\n")
    run = cli(["submit", str(deep)], env)
    assert run.returncode == 1
    assert run.stderr.decode().splitlines() == [
        f"{deep}:line 1: JSON nested too deeply",
        f"jobfleet: {deep}: every line was rejected; no batch was created"]
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n")
    one_line_error(cli(["submit", str(empty)], env), "holds no jobs; no batch was created")
    noise = tmp_path / "noise.jsonl"
    noise.write_bytes(os.urandom(300_000))
    run = cli(["submit", str(noise)], env)
    err = run.stderr.decode().splitlines()
    assert run.returncode == 1 and "Traceback" not in run.stderr.decode()
    assert len(err) == 22 and err[-2].startswith("... and ") and "no batch" in err[-1]
    for name in ("deep", "empty", "noise"):
        one_line_error(cli(["status", name], env), f"unknown batch '{name}'")
    one_line_error(cli(["submit", str(tmp_path / "absent.jsonl")], env), "cannot read")


def test_the_default_batch_is_the_file_name_so_appended_lines_add_only_new_keys(env, tmp_path):
    path = tmp_path / "screen.v1.jsonl"
    path.write_text(job("a") + "\n" + job("b") + "\n")
    first = cli(["submit", str(path)], env)
    assert first.stdout.decode().strip() == "screen"
    path.write_text(path.read_text() + "\n" + job("c") + "\n")
    again = cli(["submit", str(path)], env)
    assert "(1 new, 2 already known)" in again.stderr.decode()
    status = json.loads(cli(["status", "screen", "--json"], env).stdout)
    assert status["total"] == 3
    assert [j["key"] for j in status["jobs"]] == ["a", "b", "c"]
    assert all(len(j["id"]) == 24 and j["state"] == "queued" for j in status["jobs"])
    named = cli(["submit", str(path), "--batch", "other"], env)
    assert named.stdout.decode().strip() == "other"


def test_submit_reads_standard_input_with_a_batch_name(env):
    one_line_error(cli(["submit", "-"], env, stdin=job("s").encode()), "needs --batch")
    run = cli(["submit", "-", "--batch", "piped"], env, stdin=(job("s") + "\n").encode())
    assert run.returncode == 0 and run.stdout.decode().strip() == "piped"


def test_cancel_by_key_and_unknown_names(env, tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text(job("x") + "\n" + job("y") + "\n")
    cli(["submit", str(path)], env)
    one_line_error(cli(["cancel", "c", "--key", "x", "--key", "nope"], env),
                   "no such job in batch c: nope; nothing was cancelled")
    one_line_error(cli(["cancel", "--job", "0" * 24], env), "no such job")
    assert cli(["cancel", "--key", "x"], env).returncode == 2
    run = cli(["cancel", "c", "--key", "x"], env)
    assert run.returncode == 0 and "cancellation requested for 1 job(s)" in run.stdout.decode()


def test_results_into_a_closed_pipe_ends_quietly(env, tmp_path):
    path = tmp_path / "many.jsonl"
    path.write_text("\n".join(job(f"key-{i:05d}") for i in range(1500)) + "\n")
    assert cli(["submit", str(path)], env).returncode == 0
    run = subprocess.run(f"{sys.executable} -m producers.cli results many | head -n 1",
                         shell=True, env=env, capture_output=True, timeout=60)
    assert run.stderr == b"" and json.loads(run.stdout)["key"] == "key-00000"


def test_submit_refuses_wrong_params_by_line_and_field_and_enqueues_the_rest(env, tmp_path):
    lines = [json.loads(job(str(i))) for i in range(5)]
    lines[1]["params"]["tool"] = 7
    lines[2]["params"]["inputs"] = []
    lines[3]["params"]["_x"] = 1
    lines[4]["params"] = {"tool_key": "deeporigin.docking", "inputs": {}}  # the official name
    path = tmp_path / "params.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    run = cli(["submit", str(path)], env)
    err = run.stderr.decode().splitlines()
    assert run.returncode == 1 and "Traceback" not in run.stderr.decode()
    assert err[:3] == [
        f"{path}:line 2: params.tool must be a string, got integer",
        f"{path}:line 3: params.inputs must be an object, got array",
        f"{path}:line 4: unknown field params._x for deeporigin/tool (known: tool, version, "
        "inputs, name, metadata, cluster_id)",
    ]
    status = json.loads(cli(["status", "params", "--json"], env).stdout)
    assert [j["key"] for j in status["jobs"]] == ["0", "4"]
