"""Judging a chaos run: our job records against what the emulator decided and counted.

Pure functions over plain data (job records, the emulator's per-job decisions and its stats),
so the rules can be read in one place:

* ``lost``: accepted but not terminal when the run ended.
* ``wrong_state``: terminal, but not what the platform decided — its outcome ``succeeded``
  must be our ``succeeded``; ``failed`` must be our ``failed`` with reason ``remote_failed``.
  A job with no remote id must be ``failed`` with a reason and an error saying why; those
  are counted apart as ``no_remote_id`` (by reason), and only a job that breaks that rule
  (or names a remote id the platform never made) is a wrong state.
* ``duplicate_creations``: remote jobs created beyond the first per client tag or per payload
  (every job's payload is its own), per platform; the acceptance figure sums the platforms in
  ``chaos_jobs.TAGGED``.
* ``duplicate_uploads``: SHA-256s stored as more than one file on a platform (emulator
  stats); ``repeated_uploads`` also counts the same file sent again (a retried PUT).
* ``upload_missing``: a job that says it uploaded bytes the platform does not hold.

Each platform's row also counts its jobs by kind (``kind:<kind>``), so a run shows which
kinds took part: a Moderately pipeline and an agent execution are judged alike (their
decisions, payloads and uploads are looked up the same way), but only a run that made both
has tried both.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from bench.chaos_jobs import TAGGED
from worker.record import TERMINAL, Job

EXAMPLES = 5  # problem jobs listed per kind, as evidence


def classify(job: Job, decided: Mapping[str, Any] | None) -> str:
    """One job's verdict: ok-succeeded, ok-failed, no_remote_id, lost or wrong_state."""
    if job.state not in TERMINAL:
        return "lost"
    if not job.remote_id:
        explained = job.state == "failed" and job.reason and job.error
        return "no_remote_id" if explained else "wrong_state"
    if decided is None:
        return "wrong_state"
    if decided.get("phase") == "cancelled":
        return "ok-cancelled" if job.state == "cancelled" else "wrong_state"
    if decided.get("outcome") == "succeeded":
        return "ok-succeeded" if job.state == "succeeded" else "wrong_state"
    if job.state == "failed" and job.reason == "remote_failed":
        return "ok-failed"
    return "wrong_state"


def duplicate_extras(counts: Mapping[str, int]) -> int:
    """Creations beyond the first, summed over keys."""
    return sum(n - 1 for n in counts.values() if n > 1)


def upload_missing(job: Job, stats: Mapping[str, Any]) -> bool:
    """A succeeded job with an upload whose bytes the target platform does not hold."""
    if job.state != "succeeded" or not job.upload:
        return False
    target, digest = job.file_to, job.file_sha256
    held = stats.get(target, {}).get("files_by_sha256", {}) if target else {}
    return not digest or digest not in held


def judge(
    jobs: Iterable[Job],
    decisions: Mapping[str, Mapping[str, Any] | None],
    stats: Mapping[str, Any],
    platforms: list[str],
) -> dict[str, Any]:
    """The run's figures: per platform and overall, plus example jobs for every problem."""
    rows: dict[str, Counter] = {p: Counter() for p in platforms}
    reasons: dict[str, Counter] = defaultdict(Counter)
    examples: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for job in jobs:
        decided = decisions.get(job.id)
        verdict = classify(job, decided)
        row = rows[job.provider]
        row["jobs"] += 1
        row[f"kind:{job.kind}"] += 1
        row[verdict] += 1
        if job.state in TERMINAL:
            row["terminal"] += 1
        if job.remote_id:
            row["with_remote_id"] += 1
        if verdict == "no_remote_id":
            reasons[job.provider][job.reason] += 1
        if upload_missing(job, stats):
            row["upload_missing"] += 1
            verdict = "upload_missing"
        if verdict in ("lost", "wrong_state", "upload_missing", "no_remote_id"):
            _example(examples[verdict], job, decided)
    for platform, row in rows.items():
        snap = stats.get(platform, {})
        row["created"] = snap.get("jobs_created", 0)
        row["dup_by_tag"] = duplicate_extras(snap.get("creations_by_tag", {}))
        row["dup_by_payload"] = duplicate_extras(snap.get("creations_by_payload", {}))
        row["duplicate_creations"] = max(row["dup_by_tag"], row["dup_by_payload"])
        row["orphans"] = row["created"] - row["with_remote_id"]
        row["files_stored"] = snap.get("files_stored", 0)
        row["duplicate_uploads"] = snap.get("duplicate_uploads", 0)
        row["repeated_uploads"] = snap.get("repeated_uploads", 0)
        row["peak_running"] = max(snap.get("peak_running_by_credential", {}).values(), default=0)
        row["max_rps_1s"] = max(
            (n for cred, n in snap.get("max_requests_in_any_1s_window", {}).items()
             if cred != "anonymous"), default=0)
    dup_by_platform = {p: rows[p]["duplicate_creations"] for p in platforms}
    return {
        "rows": rows,
        "no_remote_id_reasons": {p: dict(c) for p, c in reasons.items()},
        "examples": dict(examples),
        "duplicate_creations_by_platform": dup_by_platform,
        "duplicate_creations": sum(n for p, n in dup_by_platform.items() if p in TAGGED),
        "duplicate_uploads": sum(rows[p]["duplicate_uploads"] for p in platforms),
        "repeated_uploads": sum(rows[p]["repeated_uploads"] for p in platforms),
        "lost": sum(r["lost"] for r in rows.values()),
        "wrong_state": sum(r["wrong_state"] for r in rows.values()),
        "no_remote_id": sum(r["no_remote_id"] for r in rows.values()),
        "upload_missing": sum(r["upload_missing"] for r in rows.values()),
        "terminal": sum(r["terminal"] for r in rows.values()),
        "jobs": sum(r["jobs"] for r in rows.values()),
    }


def _example(bucket: list[dict[str, Any]], job: Job, decided: Mapping[str, Any] | None) -> None:
    if len(bucket) >= EXAMPLES:
        return
    seen = {k: getattr(job, k) for k in ("state", "reason", "error", "remote_id", "lease_until",
                                         "submit_attempts", "errors", "last_error")
            if getattr(job, k)}
    entry: dict[str, Any] = {"job": job.id, "key": job.key, "provider": job.provider, **seen}
    if decided is not None:
        entry["emulator"] = {k: decided.get(k) for k in ("outcome", "phase", "reason")}
    bucket.append(entry)


def last_terminal_s(jobs: Iterable[Job], t0: float) -> float:
    """Seconds from ``t0`` (epoch) until the last terminal job ended."""
    ends = [job.times[job.state] for job in jobs if job.state in job.times and job.terminal]
    return round(max(ends) - t0, 2) if ends else 0.0
