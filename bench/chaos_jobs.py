"""The chaos run's jobs: one factory per platform, and which platforms can take part.

Every job tells the emulator, through the reserved ``_emulator`` object in its own inputs,
how long it runs and how it ends, so the verdict can compare our terminal state with what
the platform was told to do. Inputs carry the job key, so no two jobs share a payload: a
payload seen twice by the emulator is one job created twice.

The jobs themselves come from :mod:`emulator.samples`, which knows where each platform's
payload carries the override.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from emulator.samples import sample_job, split_plans
from emulator.settings import DurationSpec

PLANNED_FAILURE = "chaos: planned remote failure"
# Platforms whose duplicate creations count in the acceptance figure: Deep Origin's create
# carries our job id as its tag, Moderately's summary carries it as a marker, the jobs API
# (a spec-file platform, examples/providers/jobsapi.toml) takes it as its Idempotency-Key.
# OpenProtein's carries nothing of ours (a lost create is found by its inputs read back), so its
# duplicates are reported apart.
TAGGED = frozenset({"deeporigin", "moderately", "jobsapi"})


@dataclass(frozen=True)
class Plan:
    """What the emulator is told for one job."""

    duration_s: float
    outcome: str  # "succeeded" | "failed"


# platform → the kinds its chaos jobs cycle through (jobs are built by emulator.samples)
KINDS: dict[str, tuple[str, ...]] = {
    "deeporigin": ("tool",),
    "moderately": ("pipeline", "agent"),
    "openprotein": ("msa",),
    "jobsapi": ("task",),
}
PREFIX = {"deeporigin": "do", "moderately": "md", "openprotein": "op", "jobsapi": "ja"}


def platform_job(platform: str, index: int, plan: Plan, rng: random.Random,
                 nth: int = 0) -> dict[str, Any]:
    """Job ``index`` of the run, the ``nth`` of ``platform``'s, telling the emulator to follow
    ``plan``. Its kind cycles with ``nth``, not ``index``: with platforms taken round-robin,
    a platform's indexes can share a parity (every other one) and so one kind of two."""
    kinds = KINDS[platform]
    reason = PLANNED_FAILURE if plan.outcome == "failed" else None
    return sample_job(f"{PREFIX[platform]}-{index:05d}", platform, kinds[nth % len(kinds)],
                      duration_s=plan.duration_s, outcome=plan.outcome, reason=reason, rng=rng)


def unavailable_reason(platform: str, served: Iterable[str]) -> str | None:
    """Why ``platform`` cannot take part yet, or None: the emulator must serve it, the worker
    must have its provider module and the job-file rules must accept its jobs."""
    from producers.jobfile import validate
    from worker.providers import provider_names

    if platform not in KINDS:
        return "no job kinds in bench/chaos_jobs.py"
    if platform not in served:
        return "the emulator does not serve it"
    if platform not in provider_names():
        return "no platform package under worker/providers exports its spec"
    try:
        for nth in range(len(KINDS[platform])):  # every kind it will be given
            [job], _ = split_plans([platform_job(platform, 0, Plan(1.0, "succeeded"),
                                                 random.Random(0), nth)])
            validate(job)
    except ValueError as exc:
        return f"job files refuse its jobs: {exc}"
    return None


def make_jobs(
    n: int,
    platforms: list[str],
    *,
    duration: DurationSpec,
    failure_rate: float,
    upload_share: float,
    upload_targets: list[str],
    rng: random.Random,
) -> list[dict[str, Any]]:
    """``n`` jobs spread round-robin over ``platforms``, each with its plan; each platform's
    jobs cycle through all its kinds."""
    jobs = []
    for i in range(n):
        platform = platforms[i % len(platforms)]
        outcome = "failed" if rng.random() < failure_rate else "succeeded"
        plan = Plan(round(duration.sample(rng), 2), outcome)
        job = platform_job(platform, i, plan, rng, nth=i // len(platforms))
        if upload_targets and rng.random() < upload_share:
            job["upload"] = {"to": upload_targets[i % len(upload_targets)]}
        jobs.append(job)
    return jobs


def planned_duration(job: dict[str, Any]) -> float:
    """The ``duration_s`` a job told the emulator (wherever its platform keeps the override)."""
    return float(find_override(job["params"])["duration_s"])


def find_override(node: Any) -> dict[str, Any]:
    if isinstance(node, dict):
        if "_emulator" in node:
            return node["_emulator"]
        for value in node.values():
            found = find_override(value)
            if found:
                return found
    return {}
