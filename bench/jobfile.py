"""How fast a job file is checked: ``jobfleet submit``'s parsing and validation, lines/s.

Every line is parsed and its ``params`` checked against the platform's spec before anything
is enqueued, so this bounds enqueue speed from a file. The baseline, measured in the same
run on the same lines, is ``json.loads`` alone: the ratio is what validation costs on top of
reading JSON at all. Lines are sample jobs over every built-in kind (``emulator.samples``).

    python -m bench.jobfile [--lines 100000] [--rounds 3]

Prints a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Callable

from emulator.samples import KINDS, sample_job, split_plans
from producers.jobfile import parse_lines


def sample_lines(n: int, seed: int = 1) -> list[bytes]:
    """``n`` valid job lines, cycling through every built-in platform and kind."""
    rng = random.Random(seed)
    jobs, _ = split_plans([sample_job(f"k{i}", *KINDS[i % len(KINDS)], rng=rng)
                           for i in range(n)])
    return [json.dumps(job).encode() for job in jobs]


def lines_per_s(check: Callable[[list[bytes]], object], lines: list[bytes], rounds: int) -> float:
    """The best of ``rounds`` timed passes over ``lines``: the machine's least-disturbed run."""
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        check(lines)
        best = min(best, time.perf_counter() - started)
    return len(lines) / best


def json_only(lines: list[bytes]) -> None:
    for line in lines:
        json.loads(line)


def validated(lines: list[bytes]) -> None:
    jobs, errors = parse_lines(lines)
    if errors or len(jobs) != len(lines):
        raise SystemExit(f"bench.jobfile: sample lines refused: {errors[:1]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.jobfile", description=__doc__)
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    lines = sample_lines(args.lines)
    baseline = lines_per_s(json_only, lines, args.rounds)
    checked = lines_per_s(validated, lines, args.rounds)
    print("| pass over the job file | lines/s |\n|---|---|")
    print(f"| json.loads only (baseline) | {baseline:,.0f} |")
    print(f"| parse_lines: fields + params against the specs | {checked:,.0f} |")
    print(json.dumps({"lines": args.lines, "json_only_lines_per_s": round(baseline),
                      "validated_lines_per_s": round(checked),
                      "ratio_to_json_only": round(checked / baseline, 3)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
