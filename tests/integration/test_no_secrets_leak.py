"""No credential in Redis, worker logs or Flower's task list after a real run."""

from __future__ import annotations

import re

import pytest
import redis

from devtools.localfleet import EmulatorCredentials
from emulator.control import start_emulator
from emulator.samples import KINDS, sample_job
from tests.fixtures.emulator import FIXTURE_ARGS
from tests.fixtures.fleet import private_fleet, wait_done
from tests.fixtures.flower import running_flower, task_names, wait_for_tasks, wait_until_heard

pytestmark = pytest.mark.integration
TASKS = {"jobfleet.submit", "jobfleet.finalize"}  # what every job's life runs, at the least


def redis_dump(url: str) -> str:
    """Every key and value in the database, as text."""
    client = redis.Redis.from_url(url, decode_responses=True)
    read = {"string": client.get, "hash": client.hgetall, "list": lambda k: client.lrange(k, 0, -1),
            "set": client.smembers, "zset": lambda k: client.zrange(k, 0, -1, withscores=True)}
    parts = [f"{key} {read.get(client.type(key), lambda _: '')(key)}" for key in client.scan_iter()]
    return "\n".join(parts)


def test_no_configured_secret_appears_in_redis_logs_or_flower(tmp_path, example_providers):
    creds = EmulatorCredentials.generate()
    emulator = start_emulator([*FIXTURE_ARGS, *creds.emulator_args()],
                              log_path=tmp_path / "emulator.log")
    try:
        with (private_fleet(emulator.control, tmp_path, workers=2,
                            credentials=creds) as (fleet, pool),
              running_flower(pool.env, tmp_path, FLOWER_UNAUTHENTICATED_API="true") as flower):
            wait_until_heard(flower, pool.procs)  # so Flower sees every task below
            jobs = [sample_job(f"{kind}-{i}", provider, kind, duration_s=0.3,
                               outcome="failed" if i % 3 == 2 else "succeeded",
                               upload={"to": "moderately"} if kind == "msa" else None)
                    for i, (provider, kind) in enumerate([*KINDS, ("jobsapi", "task")] * 3)]
            jobs = emulator.control.plan_jobs(
                [{k: v for k, v in job.items() if v is not None} for job in jobs])
            batch = fleet.enqueue_batch(jobs, batch="secrets")
            wait_done(fleet, batch, timeout_s=60)
            tasks = wait_for_tasks(flower, lambda seen: task_names(seen) >= TASKS)
            dump = redis_dump(pool.env["JOBFLEET_REDIS_URL"])
            logs = pool.logs()
        assert task_names(tasks) <= {*TASKS, "jobfleet.poll", "jobfleet.cancel"}
        for task in tasks.values():  # the only argument is a list of job ids
            assert re.fullmatch(r"\[\[('[0-9a-f]{24}'(, )?)+\]\]", task["args"]), task["args"]
        places = {"redis": dump, "worker logs": logs, "flower tasks": str(tasks)}
        for secret in creds.secrets():
            for place, text in places.items():
                assert secret not in text, f"a credential is in the {place}"
        assert "jf:token:openprotein" in dump  # the shared token is there, not the password
    finally:
        emulator.stop()
