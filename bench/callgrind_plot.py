"""A hand-written SVG of ``bench.callgrind`` results, with no dependencies: instructions per
request of the service beside the floor for each hook (with the 1.6x gate), and, when measured,
their growth with the prefetch (log-log)."""

from __future__ import annotations

import math
from typing import Any
from xml.sax.saxutils import escape

GATE = 1.6
PANEL_W, H = 400, 380
TOP, BOTTOM, LEFT = 56, 70, 70
SERVICE, FLOOR, GATE_COLOUR = "#1f77b4", "#999999", "#d62728"


def _text(x: float, y: float, words: str, **attrs: Any) -> str:
    extra = " ".join(f'{k.replace("_", "-")}="{v}"' for k, v in attrs.items())
    return f'<text x="{x:.1f}" y="{y:.1f}" {extra}>{escape(words)}</text>'


def _bars(rows: list[dict[str, Any]], x_off: float) -> list[str]:
    """Service and floor per hook, in millions of instructions, the gate as a red tick."""
    pw, ph = PANEL_W - LEFT - 20, H - TOP - BOTTOM
    top = max(max(r["service_instructions"], GATE * r["floor_instructions"]) for r in rows) / 1e6
    scale = ph / (math.ceil(top) or 1)

    def py(m: float) -> float:
        return TOP + ph - m * scale

    out = [_text(x_off + LEFT, 30, "Instructions per request (callgrind)", font_weight="bold")]
    for m in range(math.ceil(top) + 1):
        out.append(
            f'<line x1="{x_off + LEFT}" y1="{py(m):.1f}" x2="{x_off + LEFT + pw}" '
            f'y2="{py(m):.1f}" stroke="#e5e5e5"/>'
        )
        out.append(_text(x_off + LEFT - 6, py(m) + 4, f"{m} M", text_anchor="end"))
    slot = pw / len(rows)
    bar = slot / 3.2
    for i, row in enumerate(rows):
        x = x_off + LEFT + i * slot + slot / 2
        floor, service = row["floor_instructions"] / 1e6, row["service_instructions"] / 1e6
        for dx, value, colour in ((-bar, floor, FLOOR), (0.0, service, SERVICE)):
            out.append(
                f'<rect x="{x + dx:.1f}" y="{py(value):.1f}" width="{bar:.1f}" '
                f'height="{value * scale:.1f}" fill="{colour}"/>'
            )
        gate = GATE * floor
        out.append(
            f'<line x1="{x - bar - 4:.1f}" y1="{py(gate):.1f}" x2="{x + bar + 4:.1f}" '
            f'y2="{py(gate):.1f}" stroke="{GATE_COLOUR}" stroke-width="2" stroke-dasharray="4 3"/>'
        )
        ratio = f"{row['ratio']:.2f}x"
        out.append(_text(x, py(max(service, gate)) - 8, ratio, text_anchor="middle",
                         font_weight="bold"))
        out.append(_text(x, TOP + ph + 18, row["hook"], text_anchor="middle"))
    legend_y, lx = H - 28, x_off + 20.0
    legend = (
        ("floor (bare Flask + orjson)", FLOOR), ("service", SERVICE),
        ("gate: 1.6 x floor", GATE_COLOUR),
    )
    for name, colour in legend:
        out.append(
            f'<rect x="{lx:.1f}" y="{legend_y - 9}" width="10" height="10" fill="{colour}"/>'
        )
        out.append(_text(lx + 14, legend_y, name, font_size="10"))
        lx += 14 + 5.6 * len(name) + 16  # about 5.6 px a character at font-size 10
    return out


def _growth(growth: dict[str, Any], x_off: float) -> list[str]:
    """Service and floor against the prefetch size, both axes logarithmic."""
    rows = growth["rows"]
    pw, ph = PANEL_W - LEFT - 40, H - TOP - BOTTOM
    sizes = [r["observations"] for r in rows]
    values = [v for r in rows for v in (r["service_instructions"], r["floor_instructions"])]
    x0, x1 = math.log10(min(sizes)), math.log10(max(sizes))
    y0 = math.floor(math.log10(min(values)))
    y1 = math.ceil(math.log10(max(values)))

    def px(n: float) -> float:
        return x_off + LEFT + (math.log10(n) - x0) / ((x1 - x0) or 1) * pw

    def py(v: float) -> float:
        return TOP + ph - (math.log10(v) - y0) / ((y1 - y0) or 1) * ph

    out = [_text(x_off + LEFT, 30, f"Growth with the prefetch ({growth['hook']}, log-log)",
                 font_weight="bold")]
    for e in range(y0, y1 + 1):
        out.append(
            f'<line x1="{x_off + LEFT}" y1="{py(10**e):.1f}" x2="{x_off + LEFT + pw}" '
            f'y2="{py(10**e):.1f}" stroke="#e5e5e5"/>'
        )
        label = f"{10**e / 1e6:g} M"
        out.append(_text(x_off + LEFT - 6, py(10**e) + 4, label, text_anchor="end"))
    for n in sizes:
        out.append(_text(px(n), TOP + ph + 18, f"{n:,}", text_anchor="middle"))
    out.append(_text(x_off + LEFT + pw / 2, TOP + ph + 36, "Observations in the prefetch",
                     text_anchor="middle"))
    for key, colour in (("floor_instructions", FLOOR), ("service_instructions", SERVICE)):
        d = " ".join(
            f"{'M' if i == 0 else 'L'}{px(r['observations']):.1f},{py(r[key]):.1f}"
            for i, r in enumerate(rows)
        )
        out.append(f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for r in rows:
            out.append(
                f'<circle cx="{px(r["observations"]):.1f}" cy="{py(r[key]):.1f}" r="3" '
                f'fill="{colour}"/>'
            )
    last = rows[-1]
    if "service_slope" in last:
        own = f", its own work {last['own_slope']:.2f}" if "own_slope" in last else ""
        out.append(_text(x_off + LEFT + 8, TOP + 14,
                         f"slope {rows[-2]['observations']:,}-{last['observations']:,}: "
                         f"service {last['service_slope']:.2f}{own}", font_size="10"))
    return out


def callgrind_svg(result: dict[str, Any]) -> str:
    """The SVG for one ``bench.callgrind`` result (its JSON form)."""
    growth = result.get("growth")
    width = PANEL_W * (2 if growth else 1)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{H}" '
        f'viewBox="0 0 {width} {H}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{H}" fill="white"/>',
        *_bars(result["rows"], 0),
    ]
    if growth:
        out += _growth(growth, PANEL_W)
    out.append(_text(8, H - 6, f"commit {result.get('commit', '?')}", font_size="9", fill="#666"))
    out.append("</svg>")
    return "\n".join(out) + "\n"
