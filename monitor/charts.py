"""A batch's progress over time as a small inline SVG, drawn here so pages need no script.

The batch report draws its figures with matplotlib (:mod:`monitor.plots`); a live page only
needs one line, and an SVG string keeps it free of JavaScript and of any download.
"""

from __future__ import annotations

from html import escape

from worker.keys import ENDED_BUCKET_S

WIDTH, HEIGHT, PAD = 640, 160, 32
BUCKET_S = float(ENDED_BUCKET_S)  # the ended-jobs aggregate's bucket width


def progress_svg(points: list[tuple[float, int]], total: int, start: float | None) -> str:
    """Jobs ended (y, out of ``total``) against time since ``start`` (x) as an SVG line."""
    if not points or not total:
        return ""
    t0 = start if start is not None else points[0][0]
    span = max(points[-1][0] + BUCKET_S - t0, BUCKET_S)
    coords = [(0.0, 0)] + [(at + BUCKET_S - t0, n) for at, n in points]

    def xy(t: float, n: int) -> str:
        x = PAD + (WIDTH - 2 * PAD) * min(max(t / span, 0.0), 1.0)
        y = HEIGHT - PAD - (HEIGHT - 2 * PAD) * min(n, total) / total  # retried jobs end twice
        return f"{x:.1f},{y:.1f}"

    line = " ".join(xy(t, n) for t, n in coords)
    ended = min(points[-1][1], total)
    label = f"{ended} of {total} jobs ended over {span:.0f}s"
    return (
        f'<svg class="jobfleet-progress" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" aria-label="{escape(label)}">'
        f'<title>{escape(label)}</title>'
        f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" '
        f'stroke="currentColor" stroke-opacity="0.4"/>'
        f'<line x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{HEIGHT - PAD}" stroke="currentColor" '
        f'stroke-opacity="0.4"/>'
        f'<polyline fill="none" stroke="#2f7ed8" stroke-width="2" points="{line}"/>'
        f'<text x="{PAD}" y="{PAD - 8}" font-size="12" fill="currentColor">{total} jobs</text>'
        f'<text x="{WIDTH - PAD}" y="{HEIGHT - 8}" font-size="12" text-anchor="end" '
        f'fill="currentColor">{span:.0f}s</text>'
        f'<text x="{PAD}" y="{HEIGHT - 8}" font-size="12" fill="currentColor">0</text>'
        "</svg>"
    )
