"""The job clock and settings, with a fake clock: phases are a pure function of time."""

from __future__ import annotations

import random

import pytest

from emulator.clock import JobClock, JobRecord, OverrideError, Plan, parse_override
from emulator.settings import DurationSpec, ProviderSettings, SettingsError, parse_assignment

PLAN = Plan(queue_s=1.0, duration_s=10.0, outcome="succeeded", reason=None, price=1.0)


def job(clock_start: float | None = 100.0, plan: Plan = PLAN) -> JobRecord:
    return JobRecord("p", "id-1", created_at=100.0, plan=plan, clock_start=clock_start)


@pytest.mark.parametrize(
    ("now", "phase"),
    [(100.0, "queued"), (100.99, "queued"), (101.0, "running"), (110.99, "running"),
     (111.0, "succeeded"), (1e9, "succeeded")],
)
def test_a_job_moves_from_queued_to_running_to_its_outcome_as_time_passes(now, phase):
    assert job().phase(now) == phase


def test_a_failed_outcome_is_reached_at_the_end_of_the_run():
    failing = job(plan=Plan(0.0, 5.0, "failed", "boom", 1.0))
    assert failing.phase(4.9 + 100) == "running" and failing.phase(105.0) == "failed"


def test_a_quoted_job_has_no_clock_until_confirmed():
    quoted = job(clock_start=None)
    assert quoted.phase(1e9) == "quoted" and quoted.started_at(1e9) is None
    quoted.confirm(500.0)
    assert quoted.phase(500.5) == "queued" and quoted.phase(511.0) == "succeeded"


def test_cancel_ends_a_live_job_but_not_a_finished_one():
    live, done = job(), job()
    assert live.cancel(105.0) and live.phase(106.0) == "cancelled"
    assert live.finished_at(200.0) == 105.0 and live.started_at(200.0) == 101.0
    assert not done.cancel(500.0) and done.phase(500.0) == "succeeded"


def test_a_job_cancelled_while_queued_never_started():
    queued = job()
    queued.cancel(100.5)
    assert queued.started_at(200.0) is None and queued.progress(200.0) == 0.0


def test_progress_runs_from_zero_to_one_over_the_duration():
    assert [job().progress(t) for t in (100.0, 101.0, 106.0, 120.0)] == [0.0, 0.0, 0.5, 1.0]


def test_the_plan_follows_the_override_over_the_settings():
    clock = JobClock(lambda: 0.0, random.Random(1))
    settings = ProviderSettings(failure_rate=1.0)
    override = {"duration_s": 3.5, "queue_s": 0.2, "outcome": "succeeded", "price": 2.5}
    assert clock.plan(settings, override) == Plan(0.2, 3.5, "succeeded", None, 2.5)
    drawn = clock.plan(settings, None)
    assert drawn.outcome == "failed" and drawn.reason and 2 <= drawn.duration_s <= 8


def test_the_clock_reports_time_in_whole_milliseconds():
    assert JobClock(lambda: 12.3456789).now() == 12.345


@pytest.mark.parametrize(
    "raw",
    [[], {"duration": 1}, {"duration_s": -1}, {"outcome": "maybe"}, {"price": "1"},
     {"reason": 5}, {"queue_s": float("inf")}, {"duration_s": True}],
)
def test_a_malformed_override_is_rejected(raw):
    with pytest.raises(OverrideError):
        parse_override(raw)


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [("uniform:1,10", 1, 10), ("fixed:2", 2, 2), ("exp:0", 0, 0)],
)
def test_duration_specs_parse_and_sample_within_their_bounds(text, low, high):
    spec = DurationSpec.parse(text)
    assert low <= spec.sample(random.Random(3)) <= high and str(spec) == text


@pytest.mark.parametrize("text", ["uniform:5,1", "fixed:", "gauss:1", "exp:-1", "fixed:x"])
def test_malformed_duration_specs_are_rejected(text):
    with pytest.raises(SettingsError):
        DurationSpec.parse(text)


def test_settings_updates_are_validated_as_a_whole():
    base = ProviderSettings()
    assert base.updated({"fault_5xx": "0.25", "duration": "fixed:1"}).fault_5xx == 0.25
    for bad in ({"fault_5xx": 1.5}, {"nope": 1}, {"fault_drop": 0.6, "fault_slow": 0.6},
                {"slow_s": -1}, {"latency_ms": True}):
        with pytest.raises(SettingsError):
            base.updated(bad)


def test_set_assignments_split_into_provider_key_and_value():
    assert parse_assignment("deeporigin.duration=uniform:1,2") == (
        "deeporigin", "duration", "uniform:1,2"
    )
    with pytest.raises(SettingsError):
        parse_assignment("fault_5xx=0.1")
