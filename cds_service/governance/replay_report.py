"""The replay diff as text (one line per card change) and as a static HTML page."""

from __future__ import annotations

from html import escape
from typing import Any

from cds_service.governance.replay import CardChange, ReplayResult

MARK = {"appeared": "+", "disappeared": "-", "changed": "~"}


def _card_line(fields: dict[str, Any] | None) -> str:
    if fields is None:
        return ""
    suggestions = "; ".join(fields["suggestions"]) or "no suggestions"
    return f"[{fields['indicator']}] {fields['summary']} ({suggestions})"


def change_lines(change: CardChange) -> list[str]:
    head = f"{MARK[change.kind]} {change.request}  {change.rule}"
    if change.kind != "changed":
        return [f"{head}  {_card_line(change.new or change.old)}"]
    lines = [f"{head}  changed: {', '.join(change.fields)}"]
    for name in change.fields:
        if name == "detail":
            continue  # long markdown: the HTML report shows both versions
        lines.append(f"    {name}: {change.old[name]!r} -> {change.new[name]!r}")  # type: ignore[index]
    return lines


def summary_line(result: ReplayResult) -> str:
    c = result.counts()
    return (f"{c['requests_changed']} of {c['requests']} request(s) changed: "
            f"{c['appeared']} card(s) appeared, {c['disappeared']} disappeared, "
            f"{c['changed']} changed; {c['errors']} error(s)")


def render_text(result: ReplayResult) -> str:
    lines = [f"replay {result.old_label} -> {result.new_label}"]
    for change in result.changes:
        lines += change_lines(change)
    lines += [f"! {name}: {error}" for name, error in result.errors]
    lines.append(summary_line(result))
    return "\n".join(lines)


def _cell(fields: dict[str, Any] | None, changed: list[str]) -> str:
    if fields is None:
        return "<td>—</td>"
    parts = []
    for name in ("indicator", "summary", "suggestions", "detail"):
        value = fields[name]
        text = "; ".join(value) if isinstance(value, list) else str(value)
        mark = ' class="changed"' if name in changed else ""
        body = f"<pre>{escape(text)}</pre>" if name == "detail" else escape(text)
        parts.append(f"<div{mark}><b>{name}</b>: {body}</div>")
    return f"<td>{''.join(parts)}</td>"


def render_html(result: ReplayResult) -> str:
    """A self-contained page: one row per card change, the old and new card side by side."""
    rows = "\n".join(
        f'<tr class="{c.kind}"><td>{MARK[c.kind]} {c.kind}</td><td><code>{escape(c.request)}'
        f"</code></td><td><code>{escape(c.rule)}</code></td>{_cell(c.old, c.fields)}"
        f"{_cell(c.new, c.fields)}</tr>"
        for c in result.changes
    ) or '<tr><td colspan="5">No card changed.</td></tr>'
    errors = "".join(f"<li><code>{escape(n)}</code>: {escape(e)}</li>" for n, e in result.errors)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        "<title>Knowledge replay</title>\n<style>"
        "body{font-family:system-ui,sans-serif;margin:2rem;color:#222}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem .6rem;"
        "vertical-align:top}pre{white-space:pre-wrap;max-width:40rem;font-size:.8rem}"
        ".changed{background:#fde8dc}tr.appeared td:first-child{color:#0072B2}"
        "tr.disappeared td:first-child{color:#D55E00}</style>\n</head>\n<body>\n"
        f"<h1>Knowledge replay: {escape(result.old_label)} → {escape(result.new_label)}</h1>\n"
        f"<p>{escape(summary_line(result))}</p>\n"
        + (f"<ul>{errors}</ul>\n" if errors else "")
        + "<table>\n<thead><tr><th>Change</th><th>Request</th><th>Rule</th>"
        f"<th>{escape(result.old_label)}</th><th>{escape(result.new_label)}</th></tr></thead>\n"
        f"<tbody>\n{rows}\n</tbody>\n</table>\n</body>\n</html>\n"
    )
