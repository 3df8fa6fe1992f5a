"""SQLAlchemy Core tables for feedback storage (the schema itself is owned by the migrations)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Integer, MetaData, String, Table, Text

metadata = MetaData()

_ID = BigInteger().with_variant(Integer(), "sqlite")

feedback_items = Table(
    "feedback_items",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("dedup_key", String(64), nullable=False, unique=True),
    Column("service_id", Text, nullable=False),
    Column("card_uuid", String(64), nullable=False),
    Column("rule_id", Text),
    Column("outcome", String(16), nullable=False),
    Column("outcome_timestamp", DateTime(), nullable=False),  # naive UTC
    Column("accepted_suggestions", Text, nullable=False),  # JSON array of suggestion ids
    Column("override_reason", Text),  # the overrideReason object as given (JSON)
    Column("reason_system", Text),
    Column("reason_code", Text),
    Column("reason_display", Text),
    Column("reason_title", Text),  # Epic's reasonTitle (its extension form), else null
    Column("user_comment", Text),
    Column("received_at", DateTime(), nullable=False),  # naive UTC
)

cards_issued = Table(
    "cards_issued",
    metadata,
    Column("rule_id", Text, primary_key=True),
    Column("hour", DateTime(), primary_key=True),  # naive UTC, truncated to the hour
    Column("count", BigInteger, nullable=False),
)
