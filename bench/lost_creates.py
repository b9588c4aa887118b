"""Lost creates in a chaos run's worker logs: from a create whose answer was lost to adopting.

``python -m bench.lost_creates DIR`` reads the worker logs a chaos run kept
(``python -m bench.chaos --keep-logs DIR``: ``DIR/logs/chaos*.log``) and prints, per
platform, how many jobs adopted the remote job a create whose answer was lost had made, and
the time from that create's failure (the last one logged before the adoption) to the
adoption, median and max. For the platforms searched by one shared walk (Moderately,
OpenProtein) it splits that time at the walk that found the job: the first walk begun after
the lost answer, that walk's length, and from its end to the adoption. It also gives the walks'
count, rows read and length. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path

PLATFORMS = ("deeporigin", "moderately", "openprotein", "jobsapi")
LINE = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}): \w+/[^\]]*\] (.*)$")
JOB = re.compile(r"^job (\w+): (.*)$")
WALK = re.compile(r"^(\w+): shared search of \S+ read (\d+) rows .* in ([\d.]+) s")


def parse(lines: Iterable[str]) -> Iterator[tuple[float, str]]:
    """(epoch seconds, message) of every log line that has a timestamp."""
    for line in lines:
        m = LINE.match(line)
        if m:
            at = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()
            yield at, m.group(2)


def lost_answer(message: str) -> bool:
    """A create that failed without a usable answer (not a later search's reschedule)."""
    return ("the create's answer was lost" in message
            or ("submit failed" in message and " POST " in message
                and "searched for at once" not in message and "its search" not in message))


def adoptions(events: Iterable[tuple[float, str]]) -> list[tuple[str, float, float]]:
    """(platform, lost answer at, adopted at) for each job that adopted after a lost answer."""
    jobs: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for at, message in events:
        m = JOB.match(message)
        if m:
            jobs[m.group(1)].append((at, m.group(2)))
    out = []
    for lines in jobs.values():
        lines.sort()
        adopted = next((at for at, msg in lines if msg.startswith("adopting")), None)
        lost = [(at, msg) for at, msg in lines
                if adopted is not None and at <= adopted and lost_answer(msg)]
        if lost:
            platform = next((p for p in PLATFORMS if p in lost[-1][1]), "?")
            out.append((platform, lost[-1][0], adopted))
    return out


def walks(events: Iterable[tuple[float, str]]) -> dict[str, list[tuple[float, float, int]]]:
    """Each platform's shared walks as (started, ended, rows read)."""
    out: dict[str, list[tuple[float, float, int]]] = defaultdict(list)
    for at, message in events:
        m = WALK.match(message)
        if m:
            out[m.group(1)].append((at - float(m.group(3)), at, int(m.group(2))))
    return out


def split(lost: float, adopted: float, platform_walks: list[tuple[float, float, int]]
          ) -> tuple[float, float, float] | None:
    """Lost answer → the first walk begun after it → that walk's end → adoption."""
    after = sorted(w for w in platform_walks if w[0] >= lost - 0.5 and w[1] <= adopted + 0.5)
    if not after:
        return None
    started, ended, _ = after[0]
    return max(started - lost, 0.0), ended - started, max(adopted - ended, 0.0)


def _mm(values: list[float], digits: int = 1) -> str:
    if not values:
        return "-"
    return f"{statistics.median(values):.{digits}f} / {max(values):.{digits}f}"


def report(log_dir: Path) -> dict:
    events = []
    for path in sorted(log_dir.glob("chaos*.log")):
        events.extend(parse(path.read_text(errors="replace").splitlines()))
    adopted, walked = adoptions(events), walks(events)
    result: dict = {}
    print("| platform | adopted after a lost answer | lost → adopted s (median / max) | "
          "→ walk start | walk | walk end → adopted | walks | rows a walk (median / max) |")
    print("|---|---|---|---|---|---|---|---|")
    for platform in PLATFORMS:
        times = [a - lost for p, lost, a in adopted if p == platform]
        parts = [s for p, lost, a in adopted if p == platform
                 for s in [split(lost, a, walked.get(platform, []))] if s]
        rows = [float(w[2]) for w in walked.get(platform, [])]
        cols = [_mm([s[i] for s in parts]) for i in range(3)]
        print(f"| {platform} | {len(times)} | {_mm(times)} | {' | '.join(cols)} | "
              f"{len(rows)} | {_mm(rows, 0)} |")
        result[platform] = {
            "adopted": len(times),
            "lost_to_adopted_median_s": round(statistics.median(times), 1) if times else None,
            "lost_to_adopted_max_s": round(max(times), 1) if times else None,
            "walks": len(rows)}
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.lost_creates",
                                description=__doc__.split("\n")[0])
    p.add_argument("dir", help="a chaos run's --keep-logs directory")
    args = p.parse_args(argv)
    log_dir = Path(args.dir) / "logs"
    if not log_dir.is_dir():
        print(f"no worker logs in {log_dir} (run bench.chaos with --keep-logs)")
        return 2
    print(json.dumps(report(log_dir)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
