"""Override-comment triage: rules ranked by likely malfunction, from the override rate and the
free-text override comments that complain ("wrong", "already", "not RLS", "duplicate", …)."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from cds_service.database import report_errors
from cds_service.feedback.report import redact_comment
from cds_service.feedback.tables import feedback_items

# Phrases that, in an override comment, say the card itself was wrong rather than declined.
COMPLAINT_PHRASES = (
    "wrong", "incorrect", "already", "duplicate", "not rls", "no rls", "not relevant",
    "irrelevant", "not applicable", "false", "error", "outdated", "old result", "again",
    "no longer", "does not have", "doesn't have", "bug", "nonsense", "annoying", "spam",
)
_PATTERN = re.compile(r"(?<!\w)(" + "|".join(re.escape(p) for p in COMPLAINT_PHRASES) + r")(?!\w)",
                      re.IGNORECASE)


def complaints_in(comment: str) -> list[str]:
    """The complaint phrases in ``comment`` (lower case, each once, in order of appearance)."""
    return list(dict.fromkeys(m.group(1).lower() for m in _PATTERN.finditer(comment)))


@dataclass
class RuleTriage:
    rule_id: str | None
    accepted: int = 0
    overridden: int = 0
    comments: list[tuple[str, int, list[str]]] = field(default_factory=list)  # text, n, phrases

    @property
    def override_rate(self) -> float:
        total = self.accepted + self.overridden
        return self.overridden / total if total else 0.0

    @property
    def complaint_share(self) -> float:
        """Of the overrides, the share whose comment complains."""
        complaining = sum(n for _, n, words in self.comments if words)
        return complaining / self.overridden if self.overridden else 0.0

    @property
    def score(self) -> float:
        """0..2: override rate plus complaint share (both 0..1); higher is more suspect."""
        return round(self.override_rate + self.complaint_share, 4)

    def as_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule_id, "score": self.score, "accepted": self.accepted,
            "overridden": self.overridden, "override_rate": round(self.override_rate, 4),
            "complaint_share": round(self.complaint_share, 4),
            "comments": [{"text": t, "count": n, "complaints": w} for t, n, w in self.comments],
        }


def triage(engine: Engine, since: datetime | None = None, until: datetime | None = None
           ) -> list[RuleTriage]:
    """Rules with feedback in [since, until), most suspect first."""
    fb = feedback_items.c
    where = []
    if since is not None:
        where.append(fb.outcome_timestamp >= since.astimezone(UTC).replace(tzinfo=None))
    if until is not None:
        where.append(fb.outcome_timestamp < until.astimezone(UTC).replace(tzinfo=None))
    with engine.connect() as conn:
        outcomes = conn.execute(select(fb.rule_id, fb.outcome, func.count())
                                .where(*where).group_by(fb.rule_id, fb.outcome)).all()
        comments = conn.execute(
            select(fb.rule_id, fb.user_comment, func.count())
            .where(*where, fb.outcome == "overridden", fb.user_comment.is_not(None))
            .group_by(fb.rule_id, fb.user_comment)
        ).all()
    rules: dict[str | None, RuleTriage] = defaultdict(lambda: RuleTriage(None))
    for rule, outcome, n in outcomes:
        entry = rules[rule]
        entry.rule_id = rule
        if outcome == "accepted":
            entry.accepted += n
        elif outcome == "overridden":
            entry.overridden += n
    for rule, text, n in comments:
        # shown masked like every report (numbers, e-mail addresses); judged as written
        rules[rule].comments.append((redact_comment(text), n, complaints_in(text)))
    for entry in rules.values():
        entry.comments.sort(key=lambda c: (not c[2], -c[1], c[0]))  # complaints first
    return sorted(rules.values(), key=lambda r: (-r.score, -r.overridden, r.rule_id or ""))


def _marked(text: str) -> str:
    return _PATTERN.sub(lambda m: f"<mark>{m.group(1)}</mark>", escape(text))


def render_triage_html(ranked: list[RuleTriage]) -> str:
    """An HTML section for the feedback report (stored comments are escaped)."""
    rows = []
    for r in ranked:
        comments = "".join(f"<li>{_marked(t)} ({n})</li>" for t, n, _ in r.comments)
        rows.append(
            f'<tr data-rule="{escape(r.rule_id or "")}"><td>{escape(r.rule_id or "(no rule)")}'
            f'</td><td class="n">{r.score:.2f}</td><td class="n">{r.override_rate:.0%} of '
            f'{r.accepted + r.overridden}</td><td class="n">{r.complaint_share:.0%}</td>'
            f"<td><ul>{comments}</ul></td></tr>"
        )
    body = "\n".join(rows) or '<tr><td colspan="5">No feedback.</td></tr>'
    return (
        '<section id="triage">\n<h2>Likely malfunction (override triage)</h2>\n'
        "<p>Score = override rate + share of overrides whose comment complains (words such as "
        "“wrong”, “already”, “not RLS”, “duplicate”); read the top rules' comments first.</p>\n"
        "<table>\n<thead><tr><th>Rule</th><th>Score</th><th>Overridden</th>"
        "<th>Complaining</th><th>Override comments</th></tr></thead>\n"
        f"<tbody>\n{body}\n</tbody>\n</table>\n</section>\n"
    )


def triage_section(governance: Any, since: datetime | None, until: datetime | None) -> str:
    """The triage section of the feedback report ("" before governance is set up)."""
    database = getattr(governance, "database", None)
    if database is None:
        return ""
    with report_errors():
        return render_triage_html(triage(database.sqlalchemy_engine(), since, until))
