"""Durable, idempotent feedback storage on SQLite (WAL) or PostgreSQL: written on the DB-API
(cds_service/database.py), migrated by Alembic and read for the reports with SQLAlchemy."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from cds_service.cards.card_ids import rule_of_card_uuid
from cds_service.database import Database, DatabaseError, insert_statement
from cds_service.feedback.report import RuleReport
from cds_service.feedback.validation import FeedbackItem, is_uuid

MIGRATIONS = Path(__file__).with_name("migrations")
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


_INSERT_ITEM = insert_statement(
    "feedback_items", "dedup_key service_id card_uuid rule_id outcome outcome_timestamp "
    "accepted_suggestions override_reason reason_system reason_code reason_display reason_title "
    "user_comment received_at") + " ON CONFLICT (dedup_key) DO NOTHING RETURNING id"
_ADD_ISSUED = (
    'INSERT INTO cards_issued (rule_id, hour, "count") VALUES (:rule_id, :hour, :count) '
    'ON CONFLICT (rule_id, hour) DO UPDATE SET "count" = cards_issued."count" + excluded."count"'
)


class FeedbackStore:
    """Feedback items and issued-card counts in one SQL database."""

    def __init__(self, database_url: str, *, store_comments: bool = True) -> None:
        """``store_comments`` False drops each item's free-text userComment before it is
        written (CDS_STORE_FEEDBACK_COMMENTS): comments may carry patient details."""
        self._store_comments = store_comments
        try:
            self._db = Database(database_url)
        except ValueError as exc:
            raise ValueError(f"feedback database: {exc}") from None

    @property
    def database(self) -> Database:
        """The store's database, which the governance records share (one pool a worker)."""
        return self._db

    def close(self) -> None:
        """Close every pooled connection."""
        self._db.close()

    def __enter__(self) -> FeedbackStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision (safe to run from several processes).

        A store already at the newest revision is recognised with one query, and a new, empty
        database is made from the newest revision's script (migrations/head.*.sql, the DDL
        Alembic runs there): neither imports Alembic and SQLAlchemy, 0.25-0.4 s of a start-up.
        Any other database is upgraded by Alembic.
        """
        revision = self._revision()
        if revision == HEAD_REVISION or (revision is None and self._create_at_head()):
            return
        self._migrate_with_alembic()

    def _create_at_head(self) -> bool:
        """Make the schema of the newest revision in an empty database; False if not empty."""
        text = (MIGRATIONS / f"head.{self._db.dialect}.sql").read_text()
        body = "\n".join(line for line in text.splitlines() if not line.startswith("--"))
        with self._db.transaction(write=True) as tx:
            if self._db.dialect == "postgresql":
                tx.execute("SELECT pg_advisory_xact_lock(:id)", {"id": _LOCK_ID})
                found = tx.execute(
                    "SELECT count(*) FROM information_schema.tables "
                    "WHERE table_schema = current_schema()").fetchone()[0]
            else:
                found = tx.execute(
                    "SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
            if found:  # another process made it meanwhile, or tables of an older kind
                return False
            for statement in body.split(";\n"):
                if statement.strip():
                    tx.execute(statement)
            tx.execute("INSERT INTO alembic_version (version_num) VALUES (:head)",
                       {"head": HEAD_REVISION})
        return True

    def _migrate_with_alembic(self) -> None:
        from alembic import command
        from alembic.config import Config
        from sqlalchemy import text

        # Alembic's INFO lines (plugin set-up, each revision) say nothing an operator acts on.
        logging.getLogger("alembic").setLevel(logging.WARNING)

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        engine = self._db.sqlalchemy_engine()
        with engine.execution_options(sqlite_immediate=True).begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
            config.attributes["connection"] = conn
            command.upgrade(config, "head")

    def _revision(self) -> str | None:
        try:
            with self._db.transaction() as tx:
                row = tx.execute("SELECT version_num FROM alembic_version").fetchone()
        except DatabaseError:
            return None  # no version table yet: a new database
        return row[0] if row else None

    def ping(self) -> bool:
        """True when the database answers a trivial query."""
        return self._db.ping()

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
        with self._db.transaction(write=True) as tx:
            for row in rows:
                stored += tx.execute(_INSERT_ITEM, row).fetchone() is not None
        return stored

    def _row(self, service_id: str, item: FeedbackItem, known: list[str], now: datetime) -> dict:
        reason = item.override_reason
        return {
            "dedup_key": dedup_key(service_id, item),
            "service_id": service_id,
            "card_uuid": item.card,
            # A card id that is not a UUID (Epic's "123456") carries no rule: stored, unmapped.
            "rule_id": rule_of_card_uuid(item.card, known) if is_uuid(item.card) else None,
            "outcome": item.outcome,
            "outcome_timestamp": self._db.timestamp(_naive_utc(item.outcome_timestamp)),
            "accepted_suggestions": json.dumps(list(item.accepted_suggestions)),
            "override_reason": reason.raw_json if reason else None,
            "reason_system": reason.system if reason else None,
            "reason_code": reason.code if reason else None,
            "reason_display": reason.display if reason else None,
            "reason_title": reason.title if reason else None,
            "user_comment": reason.user_comment if reason else None,
            "received_at": self._db.timestamp(now),
        }

    def record_issued(self, counts: Mapping[str, int], at: datetime | None = None) -> None:
        """Add issued-card counts per rule id (e.g. a Counter) to the hour bucket of ``at``."""
        hour = _naive_utc(at or datetime.now(UTC)).replace(minute=0, second=0, microsecond=0)
        stamp = self._db.timestamp(hour)
        rows = [{"rule_id": r, "hour": stamp, "count": n} for r, n in sorted(counts.items()) if n]
        if not rows:
            return
        with self._db.transaction(write=True) as tx:
            tx.executemany(_ADD_ISSUED, rows)

    def report(
        self, since: datetime | None = None, until: datetime | None = None
    ) -> list[RuleReport]:
        """Per-rule counts for feedback with outcomeTimestamp in [since, until)."""
        from cds_service.feedback.report_query import read_reports  # SQLAlchemy: reports only

        return read_reports(self._db, _naive_utc(since) if since else None,
                            _naive_utc(until) if until else None)
