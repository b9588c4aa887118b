"""Sample job lines for every platform and kind, each telling the emulator how to behave.

The demo, the tests and the chaos harness all build jobs here, so the one place that knows
where each platform's payload carries the reserved ``_emulator`` override is this module:

- Deep Origin ``tool``: ``params.inputs._emulator``
- Moderately ``agent``: ``params.agentInput._emulator``; ``pipeline``: in ``pipelineInput``
- OpenProtein ``msa`` / ``embed``: nowhere in the job. Its params have no free-form field
  that reaches the platform, and the fleet's worker knows nothing of the emulator, so the
  override is sent to the emulator ahead of the job (``POST /_emulator/plans``), keyed by
  the job's first sequence. :func:`sample_job` leaves it in ``params._emulator``;
  :meth:`emulator.control.EmulatorControl.plan_jobs` sends it ahead and strips it.
- the jobs API ``task`` (a spec-file platform, ``examples/providers/jobsapi.toml``):
  ``params.input._emulator``; not in :data:`KINDS`, which lists the built-in platforms
"""

from __future__ import annotations

import random
from typing import Any

KINDS = (("deeporigin", "tool"), ("moderately", "agent"), ("moderately", "pipeline"),
         ("openprotein", "msa"), ("openprotein", "embed"))
AMINO = "ACDEFGHIKLMNPQRSTVWY"


def sample_job(
    key: str,
    provider: str,
    kind: str,
    *,
    duration_s: float = 1.0,
    outcome: str = "succeeded",
    reason: str | None = None,
    rng: random.Random | None = None,
    unlisted: bool = False,
    lose_answer: bool = False,
    **extra: Any,
) -> dict[str, Any]:
    """One job line; ``extra`` adds top-level fields (``upload``, ``deadline_s``, ``max_price``).

    ``unlisted`` hides the remote job from the platform's lists (only its own GET shows it);
    ``lose_answer`` drops the create's answer after the job was made.
    """
    rng = rng or random.Random(key)
    emulate: dict[str, Any] = {"duration_s": duration_s, "outcome": outcome}
    if unlisted:
        emulate["unlisted"] = True
    if lose_answer:
        emulate["lose_answer"] = True
    if reason is not None:
        emulate["reason"] = reason
    params = _PARAMS[(provider, kind)](key, rng, emulate)
    return {"key": key, "provider": provider, "kind": kind, "params": params, **extra}


def _protein(rng: random.Random, length: int = 24) -> str:
    return "M" + "".join(rng.choice(AMINO) for _ in range(length - 1))


def _tool(key: str, rng: random.Random, emulate: dict) -> dict:
    return {"tool": "deeporigin.docking", "version": "latest",
            "inputs": {"smiles": "C" * rng.randint(1, 12), "ref": key, "_emulator": emulate}}


def _agent(key: str, rng: random.Random, emulate: dict) -> dict:
    return {"agentConfigurationVersionId": "acv-demo",
            "agentInput": {"task": f"summarise record {key}", "_emulator": emulate}}


def _pipeline(key: str, rng: random.Random, emulate: dict) -> dict:
    return {"pipelineConfigurationVersionId": "pcv-demo",
            "pipelineInput": {"document": key, "pages": rng.randint(1, 9), "_emulator": emulate},
            "pipelineInputSummary": f"extract tables from {key}"}


def _msa(key: str, rng: random.Random, emulate: dict) -> dict:
    return {"sequences": [_protein(rng)], "_emulator": emulate}


def _embed(key: str, rng: random.Random, emulate: dict) -> dict:
    return {"model": "prot-seq", "sequences": [_protein(rng, 16)], "_emulator": emulate}


def _task(key: str, rng: random.Random, emulate: dict) -> dict:
    return {"template": "align", "priority": rng.randint(0, 9),
            "input": {"sequence": _protein(rng, 12), "ref": key, "_emulator": emulate}}


PLANNED = frozenset({"openprotein"})  # platforms whose overrides are sent ahead


def split_plans(
    jobs: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], dict[str, dict[str, dict[str, Any]]]]:
    """The job lines without ``params._emulator``, and those overrides by platform and key."""
    clean: list[dict[str, Any]] = []
    plans: dict[str, dict[str, dict[str, Any]]] = {}
    for job in jobs:
        params = job.get("params")
        if job.get("provider") in PLANNED and isinstance(params, dict) and "_emulator" in params:
            params = dict(params)
            plans.setdefault(job["provider"], {})[params["sequences"][0]] = params.pop("_emulator")
            job = {**job, "params": params}
        clean.append(job)
    return clean, plans


_PARAMS = {("deeporigin", "tool"): _tool, ("moderately", "agent"): _agent,
           ("moderately", "pipeline"): _pipeline, ("openprotein", "msa"): _msa,
           ("openprotein", "embed"): _embed, ("jobsapi", "task"): _task}
