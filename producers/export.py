"""``jobfleet export``: a batch's results as plain files on this machine.

``DIR/<key>/<file name>`` for every output file (read from the result store, local or S3),
and ``DIR/results.jsonl`` or ``DIR/results.csv`` with one row per job and its data. Keys and
file names are made safe before they become paths (:mod:`worker.results.names`).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from worker.results.names import key_dir, safe_segment
from worker.results.store import copy_location, read_location

FORMATS = ("jsonl", "csv")
CSV_COLUMNS = ("id", "key", "provider", "kind", "state", "remote_id", "reason", "error",
               "file_id", "files", "data")


@dataclass
class Exported:
    jobs: int = 0
    files: int = 0
    bytes: int = 0


def export(lines: Iterable[dict[str, Any]], folder: Path, fmt: str = "jsonl") -> Exported:
    """Writes every job's files and one data table; returns what was written."""
    folder.mkdir(parents=True, exist_ok=True)
    done = Exported()
    with open(folder / f"results.{fmt}", "w", newline="") as table:
        write_row = _csv_writer(table) if fmt == "csv" else _jsonl_writer(table)
        for line in lines:
            row = _row(line)
            for name, entry in line.get("result", {}).get("files", {}).items():
                target = folder / key_dir(line["key"], line["id"]) / safe_segment(name)
                target.parent.mkdir(exist_ok=True)
                done.bytes += copy_location(entry["location"], str(target))
                row["files"].append(str(target.relative_to(folder)))
                done.files += 1
            write_row(row)
            done.jobs += 1
    return done


def _row(line: dict[str, Any]) -> dict[str, Any]:
    row = {k: v for k, v in line.items() if k != "result"}
    result = line.get("result")
    if result is not None:
        row["data"] = (result["data"] if "data" in result
                       else json.loads(read_location(result["data_location"])))
    row["files"] = []
    return row


def _jsonl_writer(out: TextIO):
    return lambda row: out.write(json.dumps(row) + "\n")


def _csv_writer(out: TextIO):
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()

    def write(row: dict[str, Any]) -> None:
        flat = dict(row, files=" ".join(row["files"]))
        if "data" in row:
            flat["data"] = json.dumps(row["data"], sort_keys=True)
        writer.writerow(flat)

    return write
