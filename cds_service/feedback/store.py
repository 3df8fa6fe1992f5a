"""Durable, idempotent feedback storage on SQLite (WAL) or PostgreSQL with SQLAlchemy 2."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, func, make_url, select, text
from sqlalchemy.exc import SQLAlchemyError

from cds_service.cards.card_ids import rule_of_card_uuid
from cds_service.feedback.engine import sqlite_engine, upsert_insert
from cds_service.feedback.report import RuleReport, assemble_reports
from cds_service.feedback.tables import cards_issued, feedback_items
from cds_service.feedback.validation import FeedbackItem, is_uuid

MIGRATIONS = Path(__file__).with_name("migrations")
_CHUNK = 200
_LOCK_ID = 0x7F5EEDBA  # pg advisory lock serialising migrations across processes
# The newest file in migrations/versions; tests check the two agree.
HEAD_REVISION = "0003"


def _naive_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def dedup_key(service_id: str, item: FeedbackItem) -> str:
    """Idempotency key: sha256 of service, card, outcome, outcomeTimestamp, acceptedSuggestions
    and overrideReason (a UUID card lower-cased, timestamp in UTC, suggestion ids sorted)."""
    identity = [
        service_id,
        item.card.lower() if is_uuid(item.card) else item.card,
        item.outcome,
        _naive_utc(item.outcome_timestamp).isoformat(),
        sorted(item.accepted_suggestions),
        item.override_reason.raw_json if item.override_reason else None,
    ]
    canonical = json.dumps(identity, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _without_comments(raw_json: str | None) -> str | None:
    """The override reason as sent, minus every userComment (one object or a list of them)."""
    if raw_json is None:
        return None
    value = json.loads(raw_json)
    for reason in value if isinstance(value, list) else [value]:
        if isinstance(reason, dict):
            reason.pop("userComment", None)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class FeedbackStore:
    """Feedback items and issued-card counts in one SQL database."""

    def __init__(self, database_url: str, *, store_comments: bool = True) -> None:
        """``store_comments`` False drops each item's free-text userComment before it is
        written (CDS_STORE_FEEDBACK_COMMENTS): comments may carry patient details."""
        self._store_comments = store_comments
        url = make_url(database_url)
        backend = url.get_backend_name()
        if backend == "sqlite":
            self._engine = sqlite_engine(url)
        elif backend == "postgresql":
            self._engine = create_engine(url, pool_pre_ping=True, hide_parameters=True)
        else:
            raise ValueError(f"unsupported feedback database backend: {backend!r}")
        self._insert = upsert_insert(backend)
        self._writer = self._engine.execution_options(sqlite_immediate=True)

    def close(self) -> None:
        """Close every pooled connection."""
        self._engine.dispose()

    def __enter__(self) -> FeedbackStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision (safe to run from several processes).

        A store already at the newest revision is recognised with one query, without importing
        Alembic (about 0.3 s of every worker's start-up otherwise).
        """
        if self._revision() == HEAD_REVISION:
            return
        from alembic import command
        from alembic.config import Config

        # Alembic's INFO lines (plugin set-up, each revision) say nothing an operator acts on.
        logging.getLogger("alembic").setLevel(logging.WARNING)

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with self._writer.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
            config.attributes["connection"] = conn
            command.upgrade(config, "head")

    def _revision(self) -> str | None:
        try:
            with self._engine.connect() as conn:
                return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except SQLAlchemyError:
            return None  # no version table yet: a new database

    def ping(self) -> bool:
        """True when the database answers a trivial query."""
        try:
            with self._engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except SQLAlchemyError:
            return False

    def record(
        self, service_id: str, items: Sequence[FeedbackItem], rule_ids: Iterable[str]
    ) -> int:
        """Store items in one transaction (committed on return); return how many were new."""
        known = list(rule_ids)
        now = _naive_utc(datetime.now(UTC))
        rows = [self._row(service_id, item, known, now) for item in items]
        if not self._store_comments:
            for row in rows:
                row["user_comment"] = None
                row["override_reason"] = _without_comments(row["override_reason"])
        stored = 0
        with self._writer.begin() as conn:
            for start in range(0, len(rows), _CHUNK):
                statement = (
                    self._insert(feedback_items)
                    .values(rows[start : start + _CHUNK])
                    .on_conflict_do_nothing(index_elements=["dedup_key"])
                    .returning(feedback_items.c.id)
                )
                stored += len(conn.execute(statement).all())
        return stored

    @staticmethod
    def _row(service_id: str, item: FeedbackItem, known: list[str], now: datetime) -> dict:
        reason = item.override_reason
        return {
            "dedup_key": dedup_key(service_id, item),
            "service_id": service_id,
            "card_uuid": item.card,
            # A card id that is not a UUID (Epic's "123456") carries no rule: stored, unmapped.
            "rule_id": rule_of_card_uuid(item.card, known) if is_uuid(item.card) else None,
            "outcome": item.outcome,
            "outcome_timestamp": _naive_utc(item.outcome_timestamp),
            "accepted_suggestions": json.dumps(list(item.accepted_suggestions)),
            "override_reason": reason.raw_json if reason else None,
            "reason_system": reason.system if reason else None,
            "reason_code": reason.code if reason else None,
            "reason_display": reason.display if reason else None,
            "reason_title": reason.title if reason else None,
            "user_comment": reason.user_comment if reason else None,
            "received_at": now,
        }

    def record_issued(self, counts: Mapping[str, int], at: datetime | None = None) -> None:
        """Add issued-card counts per rule id (e.g. a Counter) to the hour bucket of ``at``."""
        hour = _naive_utc(at or datetime.now(UTC)).replace(minute=0, second=0, microsecond=0)
        rows = [{"rule_id": r, "hour": hour, "count": n} for r, n in sorted(counts.items()) if n]
        if not rows:
            return
        statement = self._insert(cards_issued).values(rows)
        statement = statement.on_conflict_do_update(
            index_elements=["rule_id", "hour"],
            set_={"count": cards_issued.c.count + statement.excluded["count"]},
        )
        with self._writer.begin() as conn:
            conn.execute(statement)

    def report(
        self, since: datetime | None = None, until: datetime | None = None
    ) -> list[RuleReport]:
        """Per-rule counts for feedback with outcomeTimestamp in [since, until)."""
        fb, ci = feedback_items.c, cards_issued.c
        where, issued_where = [], []
        if since is not None:
            where.append(fb.outcome_timestamp >= _naive_utc(since))
            issued_where.append(ci.hour >= _naive_utc(since))
        if until is not None:
            where.append(fb.outcome_timestamp < _naive_utc(until))
            issued_where.append(ci.hour < _naive_utc(until))
        count = func.count().label("n")
        with self._engine.connect() as conn:
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
