"""Creates that lose their answer in a burst: each remote job found, none made twice.

The emulator makes the chosen jobs' remote jobs and then closes the connection without an
answer (the ``lose_answer`` override), so the worker cannot know the create worked. Each such
job must be settled by a search made at once, in the step whose answer was lost (Deep
Origin's by tag; on Moderately and OpenProtein the shared search, one walk per list for all
of them), and run to success on the one remote job it made: no job failed
``submit_unknown``, no remote job made twice, none adopted by the wrong job.
"""

from __future__ import annotations

import pytest

from emulator.samples import sample_job
from tests.fixtures.fleet import wait_done

pytestmark = pytest.mark.integration

KINDS = (("moderately", "agent"), ("moderately", "pipeline"), ("openprotein", "msa"),
         ("deeporigin", "tool"))
PLATFORMS = ("moderately", "openprotein", "deeporigin")
PER_KIND, EVERY = 8, 3  # jobs per kind; every third loses its create's answer


def created(emulator) -> dict[str, int]:
    stats = emulator.stats()
    return {"moderately": stats["moderately"]["executions_created"],
            "openprotein": stats["openprotein"]["jobs_created"],
            "deeporigin": stats["deeporigin"]["executions_created"]}


def dropped(emulator, platform: str) -> int:
    return emulator.stats()[platform]["responses_by_status"].get("dropped", 0)


def test_creates_whose_answer_was_lost_are_found_and_never_made_twice(
    fleet, emulator, batch_name
):
    jobs = [sample_job(f"lost-{kind}-{i}", platform, kind, duration_s=0.5,
                       lose_answer=i % EVERY == 0)
            for platform, kind in KINDS for i in range(PER_KIND)]
    lost = len(KINDS) * len(range(0, PER_KIND, EVERY))
    before = created(emulator)
    drops = {platform: dropped(emulator, platform) for platform in PLATFORMS}
    batch = fleet.enqueue_batch(emulator.plan_jobs(jobs), batch=batch_name)
    wait_done(fleet, batch, timeout_s=180)
    lines = list(fleet.results(batch))
    assert {(line["state"], line.get("reason")) for line in lines} == {("succeeded", None)}, [
        (line["key"], line["state"], line.get("error")) for line in lines
        if line["state"] != "succeeded"]
    remote_ids = [line["remote_id"] for line in lines]
    assert len(set(remote_ids)) == len(jobs)  # each job its own remote job
    after = created(emulator)
    assert after["moderately"] - before["moderately"] == 2 * PER_KIND  # none made twice
    assert after["openprotein"] - before["openprotein"] == PER_KIND
    assert after["deeporigin"] - before["deeporigin"] == PER_KIND
    lost_answers = sum(dropped(emulator, p) - drops[p] for p in drops)
    assert lost_answers >= lost  # the answers really were lost
    for line in lines:  # each Moderately job tracks the execution that names it
        if line["provider"] == "moderately":
            summary = emulator.job("moderately", line["remote_id"])["input_summary"]
            assert summary.endswith((f"jobfleet job {line['id']}", f" [jobfleet {line['id']}]"))
