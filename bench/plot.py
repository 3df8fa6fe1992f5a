"""A hand-written SVG of evaluation time against prefetch size (log-log), with no dependencies."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any
from xml.sax.saxutils import escape

W, H = 720, 440
LEFT, RIGHT, TOP, BOTTOM = 80, 200, 50, 60
SERIES = (
    ("evaluate", "call_service (evaluation)", "#1f77b4"),
    ("http", "in-process HTTP (parse + evaluate + JSON)", "#d62728"),
)


def _ms(value: float) -> str:
    return f"{value:.0f}" if value >= 100 else f"{value:.3g}"


def _decades(lo: float, hi: float) -> list[float]:
    return [10.0**e for e in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)]


def scaling_svg(
    points: Sequence[dict[str, Any]], *, target_ms: float = 10.0, target_at: int = 1000
) -> str:
    """Median times of each series per size; a dashed linear reference through the first point."""
    sizes = [p["observations"] for p in points]
    values = [p[key]["median_ms"] for p in points for key, _, _ in SERIES if key in p]
    xs = _decades(min(sizes), max(sizes))
    if len(xs) == 1:  # one size only (--sizes 10): widen to a decade so the axis has a span
        xs.append(xs[0] * 10)
    ys = _decades(min([*values, target_ms]) * 0.8, max([*values, target_ms]) * 1.25)
    x0, x1, y0, y1 = map(math.log10, (xs[0], xs[-1], ys[0], ys[-1]))
    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM

    def px(n: float) -> float:
        return LEFT + (math.log10(n) - x0) / (x1 - x0) * pw

    def py(ms: float) -> float:
        return TOP + ph - (math.log10(ms) - y0) / (y1 - y0) * ph

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
        f'viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">',
        f'<rect width="{W}" height="{H}" fill="white"/>',
        f'<text x="{LEFT}" y="24" font-size="15" font-weight="bold">'
        "One patient-view request: time against prefetch size (log-log, median)</text>",
    ]
    for x in xs:
        out.append(
            f'<line x1="{px(x):.1f}" y1="{TOP}" x2="{px(x):.1f}" y2="{TOP + ph}" stroke="#ddd"/>'
        )
        out.append(
            f'<text x="{px(x):.1f}" y="{TOP + ph + 18}" text-anchor="middle">{x:,.0f}</text>'
        )
    for y in ys:
        label = f"{y:g}"
        out.append(
            f'<line x1="{LEFT}" y1="{py(y):.1f}" x2="{LEFT + pw}" y2="{py(y):.1f}" stroke="#ddd"/>'
        )
        out.append(f'<text x="{LEFT - 8}" y="{py(y) + 4:.1f}" text-anchor="end">{label}</text>')
    out.append(f'<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="#333"/>')
    out.append(
        f'<text x="{LEFT + pw / 2}" y="{H - 18}" text-anchor="middle">'
        "Observations in the prefetch</text>"
    )
    out.append(
        f'<text transform="translate(22 {TOP + ph / 2}) rotate(-90)" text-anchor="middle">'
        "milliseconds per request</text>"
    )
    # Target: at most target_ms at target_at Observations.
    tx, ty = px(target_at), py(target_ms)
    out.append(
        f'<circle cx="{tx:.1f}" cy="{ty:.1f}" r="6" fill="none" stroke="#2ca02c" stroke-width="2"/>'
    )
    legend = [("target", f"target: {target_ms:g} ms at {target_at:,}", "#2ca02c", "")]
    # Linear reference through the first evaluate point.
    first = points[0]["evaluate"]["median_ms"]
    ref = [(n, first * n / sizes[0]) for n in (sizes[0], sizes[-1])]
    ref_d = " ".join(
        f"{'M' if i == 0 else 'L'}{px(n):.1f},{py(max(ms, ys[0])):.1f}"
        for i, (n, ms) in enumerate(ref)
    )
    out.append(f'<path d="{ref_d}" fill="none" stroke="#999" stroke-dasharray="6 4"/>')
    legend.append(("ref", "linear growth from the smallest size", "#999", "6 4"))
    for key, name, colour in SERIES:
        if not all(key in p for p in points):
            continue
        coords = [(px(p["observations"]), py(p[key]["median_ms"])) for p in points]
        d = " ".join(f"{'M' if i == 0 else 'L'}{x:.1f},{y:.1f}" for i, (x, y) in enumerate(coords))
        out.append(f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for i, ((x, y), p) in enumerate(zip(coords, points, strict=True)):
            out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}"/>')
            last = i == len(coords) - 1  # the last label goes left, clear of the legend
            anchor, dx = ("end", -6) if last else ("start", 6)
            out.append(
                f'<text x="{x + dx:.1f}" y="{y - 6:.1f}" fill="{colour}" font-size="10" '
                f'text-anchor="{anchor}">{_ms(p[key]["median_ms"])}</text>'
            )
        legend.append((key, name, colour, ""))
    lx, ly = LEFT + pw + 12, TOP + 10
    for i, (_, name, colour, dash) in enumerate(legend):
        y = ly + i * 34
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(
            f'<line x1="{lx}" y1="{y}" x2="{lx + 22}" y2="{y}" stroke="{colour}" '
            f'stroke-width="2"{dash_attr}/>'
        )
        words = escape(name).split(" ")
        half = (len(words) + 1) // 2 if len(name) > 26 else len(words)
        out.append(f'<text x="{lx + 28}" y="{y + 4}">{" ".join(words[:half])}</text>')
        if half < len(words):
            out.append(f'<text x="{lx + 28}" y="{y + 18}">{" ".join(words[half:])}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
