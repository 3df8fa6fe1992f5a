"""The firing-rate report as a static HTML page: one row per rule, site and mode with an inline
SVG sparkline of the daily rate (baseline shaded, window clear, baseline level dashed)."""

from __future__ import annotations

from html import escape

from cds_service.governance.monitoring import FiringReport, RuleRate

ACTIVE, SILENT, DRIFT = "#0072B2", "#999999", "#D55E00"  # Okabe-Ito blue, grey, vermillion
_W, _H, _PAD = 300, 44, 4

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
table { border-collapse: collapse; margin-top: 1rem; }
th, td { border: 1px solid #ccc; padding: 0.3rem 0.6rem; text-align: left; vertical-align: middle; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.drift { color: #D55E00; font-weight: bold; }
td code { white-space: nowrap; }
"""


def sparkline(rate: RuleRate, report: FiringReport) -> str:
    """Daily rate per 100 evaluations; days without calls are gaps."""
    points = rate.series
    top = max([r for _, r in points if r is not None] + [1.0])
    step = (_W - 2 * _PAD) / max(len(points) - 1, 1)
    split = next((i for i, (d, _) in enumerate(points) if d >= report.window_start.date()), 0)

    def y(value: float) -> float:
        return round(_H - _PAD - (_H - 2 * _PAD) * value / top, 1)

    colour = DRIFT if rate.drift else (ACTIVE if rate.mode == "active" else SILENT)
    segments, current = [], []
    for i, (_, value) in enumerate(points):
        if value is None:
            if current:
                segments.append(current)
            current = []
        else:
            current.append(f"{round(_PAD + i * step, 1)},{y(value)}")
    if current:
        segments.append(current)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{_H}" role="img">',
        f"<title>{escape(rate.rule_id)} at {escape(rate.site)} ({rate.mode}): daily cards per "
        f"100 evaluations, peak {top:.1f}</title>",
        f'<rect x="0" y="0" width="{round(_PAD + split * step, 1)}" height="{_H}" '
        'fill="#f0f0f0"/>',
    ]
    if rate.baseline_rate is not None:
        level = y(rate.baseline_rate)
        parts.append(f'<line x1="0" x2="{_W}" y1="{level}" y2="{level}" stroke="#666" '
                     'stroke-dasharray="3,3"/>')
    for segment in segments:
        if len(segment) == 1:
            x, yy = segment[0].split(",")
            parts.append(f'<circle cx="{x}" cy="{yy}" r="2" fill="{colour}"/>')
        else:
            parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
                         f'points="{" ".join(segment)}"/>')
    parts.append("</svg>")
    return "".join(parts)


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def _row(rate: RuleRate, report: FiringReport) -> str:
    total = rate.accepted + rate.overridden
    acceptance = f"{rate.accepted / total:.0%} of {total}" if total else "–"
    drift = '<span class="drift">DRIFT</span>' if rate.drift else "ok"
    cells = [
        f"<td><code>{escape(rate.rule_id)}</code></td>", f"<td>{escape(rate.site)}</td>",
        f"<td>{rate.mode}</td>", f"<td>{sparkline(rate, report)}</td>",
        f'<td class="n">{_num(rate.window_rate)}</td>',
        f'<td class="n">{_num(rate.baseline_rate)}</td>', f"<td>{drift}</td>",
        f'<td class="n">{acceptance}</td>',
    ]
    return f'<tr data-rule="{escape(rate.rule_id)}" data-mode="{rate.mode}">{"".join(cells)}</tr>'


def render_firing_html(report: FiringReport) -> str:
    """A self-contained page (no JavaScript); every stored text is escaped."""
    head = ("<tr><th>Rule</th><th>Site</th><th>Mode</th><th>Daily cards per 100 evaluations"
            "</th><th>Window /100</th><th>Baseline /100</th><th>Drift</th>"
            "<th>Accepted (feedback)</th></tr>")
    rows = "\n".join(_row(r, report) for r in report.rates) or (
        '<tr><td colspan="8">No rule fired in this period.</td></tr>')
    sites = ", ".join(f"{escape(s)}: {n}" for s, n in report.evaluations.items()) or "none"
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>Rule firing rates</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        "<h1>Rule firing rates</h1>\n"
        f"<p>Baseline {report.start:%Y-%m-%d} to {report.window_start:%Y-%m-%d} (shaded), "
        f"window to {report.until:%Y-%m-%d %H:%MZ}. Drift: the window's rate is "
        f"{report.drift_factor:g}× the baseline or more, or 1/{report.drift_factor:g} or less. "
        f"Silent rules are evaluated and counted, never shown. Evaluations per site: {sites}.</p>\n"
        f"<table>\n<thead>{head}</thead>\n<tbody>\n{rows}\n</tbody>\n</table>\n</body>\n</html>\n"
    )
