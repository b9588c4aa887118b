"""The chaos harness's rules: which final records count as lost, wrong, or duplicated."""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest

from bench.chaos_jobs import KINDS, find_override, make_jobs
from bench.chaos_verdict import classify, duplicate_extras, judge
from emulator.settings import DurationSpec
from worker.record import Job, decode


def job(state: str, provider: str = "deeporigin", **fields: str) -> Job:
    raw = {"id": fields.pop("id", "j1"), "batch": "b", "key": "k", "provider": provider,
           "kind": fields.pop("kind", "tool"), "params": "{}", "state": state, **fields}
    return decode(raw)


SUCCEEDED = {"outcome": "succeeded", "phase": "succeeded"}
FAILED = {"outcome": "failed", "phase": "failed", "reason": "planned"}


@pytest.mark.parametrize(
    ("record", "decided", "verdict"),
    [
        (job("running", remote_id="r"), SUCCEEDED, "lost"),
        (job("succeeded", remote_id="r"), SUCCEEDED, "ok-succeeded"),
        (job("failed", remote_id="r", reason="remote_failed", error="x"), FAILED, "ok-failed"),
        (job("failed", remote_id="r", reason="http_5xx", error="x"), SUCCEEDED, "wrong_state"),
        (job("succeeded", remote_id="r"), FAILED, "wrong_state"),
        (job("failed", remote_id="r", reason="http_5xx", error="x"), FAILED, "wrong_state"),
        (job("failed", reason="submit_unknown", error="may exist"), None, "no_remote_id"),
        (job("failed"), None, "wrong_state"),  # failed without saying why
        (job("succeeded", remote_id="ghost"), None, "wrong_state"),  # the platform never made it
    ],
)
def test_classify_compares_our_terminal_state_with_the_platforms_decision(record, decided,
                                                                         verdict):
    assert classify(record, decided) == verdict


def test_duplicate_extras_counts_creations_beyond_the_first():
    assert duplicate_extras({"a": 1, "b": 3, "c": 2}) == 3


def test_judge_keeps_untagged_platforms_out_of_the_acceptance_figure():
    stats = {
        "deeporigin": {"jobs_created": 2, "creations_by_tag": {"j1": 2}},
        "openprotein": {"jobs_created": 2, "creations_by_payload": {"p": 2}},
    }
    records = [job("succeeded", remote_id="r1", id="j1"),
               job("succeeded", provider="openprotein", remote_id="r2", id="j2")]
    decisions = {"j1": SUCCEEDED, "j2": SUCCEEDED}
    verdict = judge(records, decisions, stats, ["deeporigin", "openprotein"])
    assert verdict["duplicate_creations_by_platform"] == {"deeporigin": 1, "openprotein": 1}
    assert verdict["duplicate_creations"] == 1
    assert verdict["rows"]["deeporigin"]["orphans"] == 1


def test_judge_flags_a_claimed_upload_the_platform_does_not_hold():
    stats = {"deeporigin": {"files_by_sha256": {"aa": 1}}}
    record = job("succeeded", remote_id="r", upload='{"to": "deeporigin"}', file_to="deeporigin",
                 file_sha256="bb")
    verdict = judge([record], {"j1": SUCCEEDED}, stats, ["deeporigin"])
    assert verdict["upload_missing"] == 1


def test_jobs_carry_their_plan_and_unique_inputs():
    jobs = make_jobs(30, ["deeporigin", "moderately", "openprotein"],
                     duration=DurationSpec.parse("uniform:2,4"), failure_rate=0.5,
                     upload_share=0.5, upload_targets=["deeporigin"], rng=random.Random(1))
    assert [j["provider"] for j in jobs[:3]] == ["deeporigin", "moderately", "openprotein"]
    overrides = [find_override(j["params"]) for j in jobs]
    assert all(2 <= o["duration_s"] <= 4 for o in overrides)
    assert {o["outcome"] for o in overrides} == {"succeeded", "failed"}
    assert len({json.dumps(j["params"], sort_keys=True) for j in jobs}) == len(jobs)
    failed = [o for o in overrides if o["outcome"] == "failed"]
    assert all(o["reason"] for o in failed)


def test_every_platform_gets_all_its_kinds_whatever_its_place_in_the_rotation():
    platforms = ["deeporigin", "moderately", "openprotein", "jobsapi"]  # moderately: odd indexes
    jobs = make_jobs(40, platforms, duration=DurationSpec.parse("uniform:2,4"), failure_rate=0,
                     upload_share=0, upload_targets=[], rng=random.Random(1))
    kinds = Counter((j["provider"], j["kind"]) for j in jobs)
    assert kinds == {(p, k): 10 // len(KINDS[p]) for p in platforms for k in KINDS[p]}


def test_judge_counts_each_platforms_jobs_by_kind():
    records = [job("succeeded", provider="moderately", remote_id=f"r{i}", id=f"j{i}", kind=kind)
               for i, kind in enumerate(["pipeline", "agent", "pipeline"])]
    verdict = judge(records, {r.id: SUCCEEDED for r in records}, {}, ["moderately"])
    row = verdict["rows"]["moderately"]
    assert (row["kind:pipeline"], row["kind:agent"], row["ok-succeeded"]) == (2, 1, 3)
