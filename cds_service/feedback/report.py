"""Per-rule feedback analytics values, their JSON form and a plain-text table."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

TOP_N = 5
# Comments are free text a clinician typed: numbers (dates, record numbers, phone numbers) and
# e-mail addresses are masked in every report. Names cannot be found reliably, which is why
# comments are stored only when CDS_STORE_FEEDBACK_COMMENTS allows it.
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_DIGITS = re.compile(r"\d+")


def redact_comment(text: str) -> str:
    """'seen 2026-06-01, MRN 12345' -> 'seen #-#-#, MRN #'."""
    return _DIGITS.sub("#", _EMAIL.sub("[e-mail]", text))


@dataclass(frozen=True)
class ReasonCount:
    """How often one override reason Coding was given."""

    system: str | None
    code: str
    display: str | None
    count: int


@dataclass(frozen=True)
class RuleReport:
    """Feedback analytics for one rule; ``rule_id`` None means cards matching no known rule."""

    rule_id: str | None
    issued: int | None
    accepted: int
    overridden: int
    top_reasons: tuple[ReasonCount, ...] = ()
    top_comments: tuple[tuple[str, int], ...] = ()

    @property
    def with_feedback(self) -> int:
        """Cards that received feedback: the denominator of the acceptance rate."""
        return self.accepted + self.overridden

    @property
    def acceptance_rate(self) -> float | None:
        """accepted / (accepted + overridden): over cards with feedback, not over cards issued
        (most cards get none); None without feedback."""
        total = self.with_feedback
        return self.accepted / total if total else None


def parse_window_bound(text: str) -> datetime:
    """Parse an ISO 8601 date or date-time (naive means UTC) into an aware UTC datetime."""
    value = text.strip()
    if len(value) == 10:
        parsed = datetime.combine(date.fromisoformat(value), datetime.min.time())
    else:
        parsed = datetime.fromisoformat(value.replace("z", "Z"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # year 1 or 9999 shifted past the range: a bad bound, not a crash
        raise ValueError(f"{text!r} is out of range") from None


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _rule_json(report: RuleReport) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if report.rule_id is None:
        out["matched"] = False
    else:
        out["ruleId"] = report.rule_id
    if report.issued is not None:
        out["issued"] = report.issued
    out["accepted"] = report.accepted
    out["overridden"] = report.overridden
    if report.acceptance_rate is not None:
        out["acceptanceRate"] = round(report.acceptance_rate, 4)
    reasons = []
    for reason in report.top_reasons:
        entry: dict[str, Any] = {"code": reason.code, "count": reason.count}
        if reason.system:
            entry["system"] = reason.system
        if reason.display:
            entry["display"] = reason.display
        reasons.append(entry)
    if reasons:
        out["topOverrideReasons"] = reasons
    if report.top_comments:
        out["topUserComments"] = [{"userComment": c, "count": n} for c, n in report.top_comments]
    return out


def report_as_json(
    reports: Sequence[RuleReport], since: datetime | None = None, until: datetime | None = None
) -> dict[str, Any]:
    """The report as a JSON-ready dict; absent values are omitted, never null."""
    out: dict[str, Any] = {}
    if since is not None:
        out["since"] = _iso(since)
    if until is not None:
        out["until"] = _iso(until)
    out["rules"] = [_rule_json(report) for report in reports]
    return out


def _clean(text: str) -> str:
    """One line of printable text (no terminal control sequences from stored input)."""
    return "".join(ch if ch.isprintable() else " " for ch in " ".join(text.split()))


def _reason_label(reason: ReasonCount) -> str:
    label = f"{reason.code} ({reason.display})" if reason.display else reason.code
    return _clean(label)


def render_report_text(reports: Sequence[RuleReport]) -> str:
    """A plain-text table: one row per rule, then its top override reasons and comments."""
    header = ("rule", "issued", "feedback", "accepted", "overridden", "acceptance")
    rows = [
        (
            _clean(report.rule_id) if report.rule_id is not None else "(no matching rule)",
            "-" if report.issued is None else str(report.issued),
            str(report.with_feedback),
            str(report.accepted),
            str(report.overridden),
            "-" if report.acceptance_rate is None else f"{report.acceptance_rate:.1%}",
        )
        for report in reports
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = [cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join([first, *rest]).rstrip()

    lines = [line(header), line(["-" * width for width in widths])]
    if not reports:
        lines.append("(no feedback)")
    for report, row in zip(reports, rows, strict=True):
        lines.append(line(row))
        for reason in report.top_reasons:
            lines.append(f"    reason  {reason.count:>6}  {_reason_label(reason)}")
        for comment, count in report.top_comments:
            lines.append(f"    comment {count:>6}  {_clean(comment)}")
    lines.append(
        "issued: cards sent; feedback: cards with feedback; acceptance: accepted / cards with "
        "feedback (not / cards issued); comments with numbers and e-mail addresses masked"
    )
    return "\n".join(lines) + "\n"


def _reason_order(reason: ReasonCount) -> tuple[int, str, str]:
    return (-reason.count, reason.code, reason.system or "")


def assemble_reports(
    outcomes: Iterable[Any], issued: Iterable[Any], reasons: Iterable[Any], comments: Iterable[Any]
) -> list[RuleReport]:
    """Build sorted RuleReports (unmatched cards last) from grouped count rows."""
    counts: dict[str | None, dict[str, int]] = {}
    for rule_id, outcome, n in outcomes:
        counts.setdefault(rule_id, {})[outcome] = int(n)
    issued_by_rule = {rule_id: int(n) for rule_id, n in issued}
    reasons_by_rule: dict[str | None, list[ReasonCount]] = {}
    for rule_id, system, code, display, n in reasons:
        reasons_by_rule.setdefault(rule_id, []).append(ReasonCount(system, code, display, int(n)))
    comments_by_rule: dict[str | None, list[tuple[str, int]]] = {}
    for rule_id, comment, n in comments:
        masked = redact_comment(comment)
        found = comments_by_rule.setdefault(rule_id, [])
        same = next((i for i, (c, _) in enumerate(found) if c == masked), None)
        if same is None:
            found.append((masked, int(n)))
        else:  # two comments that differ only in what was masked count as one
            found[same] = (masked, found[same][1] + int(n))
    rule_ids = set(counts) | set(issued_by_rule)
    ordered = sorted(rule_ids, key=lambda r: (r is None, r or ""))
    return [
        RuleReport(
            rule_id=rule_id,
            issued=issued_by_rule.get(rule_id),
            accepted=counts.get(rule_id, {}).get("accepted", 0),
            overridden=counts.get(rule_id, {}).get("overridden", 0),
            top_reasons=tuple(sorted(reasons_by_rule.get(rule_id, []), key=_reason_order)[:TOP_N]),
            top_comments=tuple(
                sorted(comments_by_rule.get(rule_id, []), key=lambda c: (-c[1], c[0]))[:TOP_N]
            ),
        )
        for rule_id in ordered
    ]
