"""Platform credentials are isolated by their full fingerprint and unusable from Redis alone.

Two workers share one Redis: one configured with the right OpenProtein password, then one
with a wrong one. The wrong one must not ride on the token the right one obtained, its
refusal must not hold back a corrected password, and nothing in a dump of Redis works as a
bearer token on the platform.
"""

from __future__ import annotations

import re

import pytest
import redis
import requests

from config.settings import FleetSettings
from devtools.localfleet import RedisServer, fleet_env
from emulator.samples import sample_job, split_plans
from producers.api import Fleet
from tests.fixtures.fleet import TEST_SETTINGS, WorkerPool, wait_done

pytestmark = pytest.mark.integration

TOKENISH = re.compile(r"[A-Za-z0-9._~+/=-]{16,}")


def op_jobs(prefix: str, count: int) -> list[dict]:
    """MSA jobs at the emulator's default (short) duration."""
    return split_plans([sample_job(f"{prefix}-{i}", "openprotein", "msa")
                        for i in range(count)])[0]


@pytest.fixture
def shared_redis(tmp_path):
    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.stop()


def run(pool_env: dict, tmp_path, name: str, fleet: Fleet, jobs: list[dict]) -> list[dict]:
    """Runs ``jobs`` on one worker started with ``pool_env``; the worker is stopped after."""
    pool = WorkerPool(pool_env, tmp_path / name)
    (tmp_path / name).mkdir()
    pool.start(name)
    try:
        batch = fleet.enqueue_batch(jobs, batch=name)
        wait_done(fleet, batch, timeout_s=60)
        return list(fleet.results(batch))
    finally:
        pool.stop_all()


def redis_dump(client: redis.Redis) -> list[str]:
    """Every key and every value in Redis, as text."""
    found: list[str] = []
    for key in client.scan_iter(count=1000):
        found.append(key)
        kind = client.type(key)
        if kind == "string":
            found.append(client.get(key) or "")
        elif kind == "hash":
            found.extend(f"{k}={v}" for k, v in client.hgetall(key).items())
        elif kind == "list":
            found.extend(client.lrange(key, 0, -1))
        elif kind == "zset":
            found.extend(client.zrange(key, 0, -1))
        elif kind == "set":
            found.extend(client.smembers(key))
    return found


def usable_tokens(dump: list[str], base_url: str) -> list[str]:
    """Strings from the dump the platform accepts as a bearer token."""
    candidates = {m for text in dump for m in TOKENISH.findall(text)}
    accepted = []
    for candidate in candidates:
        answer = requests.get(f"{base_url}/v1/jobs", timeout=5,
                              headers={"Authorization": f"Bearer {candidate}"})
        if answer.status_code == 200:
            accepted.append(candidate)
    return accepted


def login(base_url: str, username: str, password: str) -> str:
    answer = requests.post(f"{base_url}/v1/auth/login", timeout=5,
                           data={"username": username, "password": password},
                           headers={"X-Token-Delivery": "body"})
    answer.raise_for_status()
    return answer.json()["access_token"]


def test_a_wrong_password_fails_with_auth_while_a_valid_token_is_shared(
    emulator, shared_redis, tmp_path
):
    right = fleet_env(shared_redis.url, emulator.url, tmp_path / "results", **TEST_SETTINGS)
    wrong = {**right, "OPENPROTEIN_PASSWORD": "not-the-password"}
    fleet = Fleet(FleetSettings(redis_url=shared_redis.url))
    try:
        good = run(right, tmp_path, "right", fleet, op_jobs("good", 3))
        assert {line["state"] for line in good} == {"succeeded"}, good
        client = redis.Redis.from_url(shared_redis.url, decode_responses=True)
        assert list(client.scan_iter("jf:token:openprotein:*")), "no shared token was kept"

        bad = run(wrong, tmp_path, "wrong", fleet, op_jobs("bad", 3))
        assert {(line["state"], line["reason"]) for line in bad} == {("failed", "auth")}, bad
        assert all("HTTP 401" in line["error"] for line in bad)

        again = run(right, tmp_path, "fixed", fleet, op_jobs("fixed", 2))
        assert {line["state"] for line in again} == {"succeeded"}, again

        dump = redis_dump(client)
        assert not any("not-the-password" in text or right["OPENPROTEIN_PASSWORD"] in text
                       for text in dump)
        base = emulator.base_url("openprotein")
        assert usable_tokens(dump, base) == []
        fresh = login(base, right["OPENPROTEIN_USERNAME"], right["OPENPROTEIN_PASSWORD"])
        assert usable_tokens([f"x {fresh} y"], base) == [fresh]  # the check itself works
    finally:
        fleet.close()
