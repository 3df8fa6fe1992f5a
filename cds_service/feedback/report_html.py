"""The feedback report as a static HTML page with an inline SVG bar chart (no JavaScript)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from html import escape

from cds_service.feedback.report import RuleReport

ACCEPTED_COLOUR = "#0072B2"  # Okabe-Ito blue
OVERRIDDEN_COLOUR = "#D55E00"  # Okabe-Ito vermillion
_LABEL_W, _BAR_W, _ROW_H, _TOP = 260, 420, 28, 30

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
table { border-collapse: collapse; margin-top: 1rem; }
th, td { border: 1px solid #ccc; padding: 0.3rem 0.6rem; text-align: left; vertical-align: top; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
ul { margin: 0; padding-left: 1.1rem; }
nav a { margin-right: 1rem; }
.note { color: #555; max-width: 60rem; }
"""
NAV = (("/", "All pages"), ("/console", "Console"), ("/review", "Clinical review"))
NOTE = (
    "Acceptance is the share of accepted cards among the cards that received feedback "
    "(accepted or overridden), not among all cards issued: most cards get no feedback. Cards "
    "issued is shown beside it. Comments are shown with numbers and e-mail addresses masked."
)


def _rule_label(report: RuleReport, titles: Mapping[str, str] | None = None) -> str:
    """The rule's title, as the knowledge file words it, else its id."""
    if report.rule_id is None:
        return "Cards of no known rule (card id not issued by this service)"
    return (titles or {}).get(report.rule_id, report.rule_id)


def _svg(reports: Sequence[RuleReport], titles: Mapping[str, str] | None = None) -> str:
    height = _TOP + _ROW_H * max(len(reports), 1) + 10
    width = _LABEL_W + _BAR_W + 190
    # The longest bar is the rule with the most feedback: bars scale to the data shown.
    scale = max([r.with_feedback for r in reports] + [1])
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-labelledby="chart-title">',
        '<title id="chart-title">Accepted and overridden cards per rule</title>',
        f'<rect x="{_LABEL_W}" y="4" width="12" height="12" fill="{ACCEPTED_COLOUR}"/>',
        f'<text x="{_LABEL_W + 16}" y="15" font-size="12">accepted</text>',
        f'<rect x="{_LABEL_W + 90}" y="4" width="12" height="12" fill="{OVERRIDDEN_COLOUR}"/>',
        f'<text x="{_LABEL_W + 106}" y="15" font-size="12">overridden</text>',
    ]
    for index, report in enumerate(reports):
        y = _TOP + index * _ROW_H
        accepted_w = round(_BAR_W * report.accepted / scale, 1)
        overridden_w = round(_BAR_W * report.overridden / scale, 1)
        full = _rule_label(report, titles)
        label = escape(full if len(full) <= 36 else full[:35] + "…")  # fits _LABEL_W
        parts.append(
            f'<text x="{_LABEL_W - 8}" y="{y + 16}" font-size="12" text-anchor="end">{label}</text>'
        )
        parts.append(
            f'<rect x="{_LABEL_W}" y="{y + 4}" width="{accepted_w}" height="18" '
            f'fill="{ACCEPTED_COLOUR}"><title>{label}: {report.accepted} accepted</title></rect>'
        )
        parts.append(
            f'<rect x="{_LABEL_W + accepted_w}" y="{y + 4}" width="{overridden_w}" height="18" '
            f'fill="{OVERRIDDEN_COLOUR}"><title>{label}: {report.overridden} overridden</title>'
            "</rect>"
        )
        parts.append(
            f'<text x="{_LABEL_W + accepted_w + overridden_w + 6}" y="{y + 17}" font-size="12">'
            f"{report.accepted} accepted, {report.overridden} overridden</text>"
        )
    if not reports:
        parts.append(f'<text x="{_LABEL_W}" y="{_TOP + 16}" font-size="12">no feedback</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def _list(entries: Sequence[str]) -> str:
    if not entries:
        return ""
    return "<ul>" + "".join(f"<li>{entry}</li>" for entry in entries) + "</ul>"


def _row(report: RuleReport, titles: Mapping[str, str] | None = None) -> str:
    rate = report.acceptance_rate
    reasons = [
        f"{escape(r.display or r.code)} ({r.count})"
        for r in report.top_reasons
    ]
    comments = [f"{escape(comment)} ({count})" for comment, count in report.top_comments]
    rule = escape(_rule_label(report, titles))
    if report.rule_id is not None and rule != escape(report.rule_id):
        rule += f" <code>{escape(report.rule_id)}</code>"
    cells = [
        rule,
        "–" if report.issued is None else str(report.issued),
        str(report.with_feedback),
        str(report.accepted),
        str(report.overridden),
        "–" if rate is None else f"{rate:.1%}",
    ]
    tds = "".join(
        f'<td class="n">{cell}</td>' if i else f"<td>{cell}</td>" for i, cell in enumerate(cells)
    )
    return f"<tr>{tds}<td>{_list(reasons)}</td><td>{_list(comments)}</td></tr>"


def _window_text(since: datetime | None, until: datetime | None) -> str:
    def fmt(moment: datetime | None, default: str) -> str:
        return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ") if moment else default

    return f"Feedback given from {fmt(since, 'the beginning')} until {fmt(until, 'now')}"


def render_report_html(
    reports: Sequence[RuleReport],
    since: datetime | None = None,
    until: datetime | None = None,
    titles: Mapping[str, str] | None = None,
    extra: str = "",
) -> str:
    """A self-contained HTML page: SVG chart plus a table; every stored text is escaped.
    ``titles`` (rule id -> title) gives each rule its human name; ``extra`` is more HTML for
    the page's end (escaped by its maker), e.g. the override triage."""
    head = (
        "<tr><th>Rule</th><th>Cards issued</th><th>Cards with feedback</th><th>Accepted</th>"
        "<th>Overridden</th><th>Acceptance (of cards with feedback)</th>"
        "<th>Top override reasons</th><th>Top comments (masked)</th></tr>"
    )
    body = "\n".join(_row(report, titles) for report in reports)
    nav = "".join(f'<a href="{href}">{text}</a>' for href, text in NAV)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        "<title>CDS feedback report</title>\n"
        f"<style>{_STYLE}</style>\n</head>\n<body>\n<nav>{nav}</nav>\n"
        "<h1>CDS feedback report</h1>\n"
        f"<p>{escape(_window_text(since, until))}</p>\n<p class=\"note\">{NOTE}</p>\n"
        f"{_svg(reports, titles)}\n"
        f"<table>\n<thead>{head}</thead>\n<tbody>\n{body}\n</tbody>\n</table>\n{extra}</body>\n"
        "</html>\n"
    )
