"""The feedback report's queries, in SQLAlchemy Core (imported only when a report is asked for)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from cds_service.database import Database, report_errors
from cds_service.feedback.report import RuleReport, assemble_reports
from cds_service.feedback.tables import cards_issued, feedback_items


def read_reports(
    database: Database, since: datetime | None, until: datetime | None
) -> list[RuleReport]:
    """Per-rule counts for feedback with outcomeTimestamp in [since, until) (naive UTC)."""
    fb, ci = feedback_items.c, cards_issued.c
    where, issued_where = [], []
    if since is not None:
        where.append(fb.outcome_timestamp >= since)
        issued_where.append(ci.hour >= since)
    if until is not None:
        where.append(fb.outcome_timestamp < until)
        issued_where.append(ci.hour < until)
    count = func.count().label("n")
    with report_errors(), database.sqlalchemy_engine().connect() as conn:
        outcomes = conn.execute(
            select(fb.rule_id, fb.outcome, count).where(*where).group_by(fb.rule_id, fb.outcome)
        ).all()
        issued = conn.execute(
            select(ci.rule_id, func.sum(ci.count)).where(*issued_where).group_by(ci.rule_id)
        ).all()
        reasons = conn.execute(
            select(fb.rule_id, fb.reason_system, fb.reason_code, func.max(fb.reason_display))
            .add_columns(count)
            .where(*where, fb.reason_code.is_not(None))
            .group_by(fb.rule_id, fb.reason_system, fb.reason_code)
        ).all()
        comments = conn.execute(
            select(fb.rule_id, fb.user_comment, count)
            .where(*where, fb.user_comment.is_not(None))
            .group_by(fb.rule_id, fb.user_comment)
        ).all()
    return assemble_reports(outcomes, issued, reasons, comments)
