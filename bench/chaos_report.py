"""The human part of a chaos run's output: settings, per-platform table, disruptions, problems.

Printed before the JSON line (which ``bench.chaos`` prints last). Rich tables, sized for a
log file rather than a terminal, so nothing wraps when the output is captured.
"""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bench.chaos_jobs import TAGGED

WIDTH = 200
PLATFORM_COLUMNS = (
    ("jobs", "jobs"), ("ok-succeeded", "ok"), ("ok-failed", "failed remotely"),
    ("no_remote_id", "no remote id"), ("lost", "lost"), ("wrong_state", "wrong"),
    ("created", "remote jobs"), ("dup_by_tag", "dup (tag)"), ("dup_by_payload", "dup (payload)"),
    ("orphans", "orphans"), ("files_stored", "files"), ("duplicate_uploads", "dup files"),
    ("repeated_uploads", "re-sent"), ("upload_missing", "missing"),
    ("peak_running", "peak running"), ("max_rps_1s", "max req/1s"),
)


def render(result: dict[str, Any]) -> None:
    console = Console(width=WIDTH, soft_wrap=False, highlight=False)
    settings = result["settings"]
    console.print(escape(f"chaos run {result['batch']}: {result['jobs']} jobs on "
                         f"{', '.join(result['platforms'])}; settings {json.dumps(settings)}"))
    for name, why in result["skipped"].items():
        console.print(escape(f"left out: {name} — {why}"))
    console.print(_platforms(result))
    console.print(_disruptions(result))
    untagged = [p for p in result["platforms"] if p not in TAGGED]
    if untagged:
        console.print(escape(f"{', '.join(untagged)}: no client tag (a lost create is found by "
                             "its payload read back, else failed submit_unknown); duplicates "
                             "there are shown but not counted in duplicate_creations."))
    for platform, reasons in result["no_remote_id_reasons"].items():
        console.print(escape(f"no remote id on {platform}, by reason: {json.dumps(reasons)}"))
    slowest = [w["slowest"] for w in result["recovery"] if w.get("slowest")]
    if slowest:
        worst = max(slowest, key=lambda s: s["stall_s"])
        console.print(escape(f"longest stall: {json.dumps(worst)}"))
    for kind, examples in result["examples"].items():
        console.print(escape(f"examples of {kind}:"))
        for example in examples:
            console.print(escape("  " + json.dumps(example)))
    console.print(escape(
        f"wall {result['wall_s']} s; last job ended {result['last_terminal_s']} s after "
        f"submission (budget: longest job + 120 s = {result['budget_s']} s); "
        f"max recovery {result['max_recovery_s']} s; max stall {result['max_stall_s']} s "
        f"(jobs a killed worker held: {result['max_recovery_held_s']} s, "
        f"{result['max_stall_held_s']} s; jobs not yet started, until claimed: "
        f"{result['max_recovery_unstarted_s']} s, until their submit ran: "
        f"{result['max_stall_unstarted_s']} s)"
        + (f"; logs in {result['workdir']}" if result.get("workdir") else "")))


def _platforms(result: dict[str, Any]) -> Table:
    table = Table(title="per platform")
    table.add_column("platform", no_wrap=True, min_width=11)
    table.add_column("kinds")
    for _, title in PLATFORM_COLUMNS:
        table.add_column(title, justify="right")
    for platform in result["platforms"]:
        row = result["rows"][platform]
        kinds = ", ".join(f"{key[5:]} {n}" for key, n in row.items() if key.startswith("kind:"))
        table.add_row(escape(platform), escape(kinds),
                      *(str(row.get(key, 0)) for key, _ in PLATFORM_COLUMNS))
    return table


def _disruptions(result: dict[str, Any]) -> Table:
    table = Table(title="disruptions (recovery: until a mid-step job's record next changed; "
                        "jobs not yet started apart)")
    for title in ("at s", "what", "target", "down s", "mid-step jobs", "max recovery s",
                  "median s", "max stall s", "never moved", "held by the killed worker",
                  "held: max recovery s", "held: max stall s", "not started",
                  "not started: max claim s", "not started: max wait s"):
        table.add_column(title, justify="right")
    watches = iter(result["recovery"])
    for event in result["events"]:
        watch = next(watches) if event["kind"] != "worker-exit" else None
        cells = [event["offset_s"], event["kind"], event["target"], event["down_s"] or ""]
        if watch:
            cells += [watch["mid_step"], watch["max_s"], watch["median_s"],
                      watch["max_stall_s"], watch["unrecovered"], watch.get("held", ""),
                      watch.get("held_max_s", ""), watch.get("held_max_stall_s", ""),
                      watch["unstarted"], watch["unstarted_max_s"],
                      watch["unstarted_max_stall_s"]]
        else:
            cells += [""] * 11
        table.add_row(*(escape(str(c)) for c in cells))
    return table
