"""SQLAlchemy Core tables of the governance records (the schema is owned by the feedback
store's migrations: 0003_evaluation_records)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Integer, MetaData, String, Table, Text

metadata = MetaData()
_ID = BigInteger().with_variant(Integer(), "sqlite")

evaluations = Table(
    "evaluations",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("at", DateTime(), nullable=False),
    Column("site", Text, nullable=False),
    Column("hook", Text, nullable=False),
    Column("service_id", Text, nullable=False),
    Column("knowledge_version", Text, nullable=False),
    Column("knowledge_sha256", String(64), nullable=False),
    Column("config_sha256", String(64), nullable=False),
    Column("patient_hmac", String(64), nullable=False),
    Column("patient_ref", Text),
    Column("cards", Integer, nullable=False),
)

evaluation_rules = Table(
    "evaluation_rules",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("evaluation_id", String(36), nullable=False),
    Column("at", DateTime(), nullable=False),
    Column("site", Text, nullable=False),
    Column("rule_id", Text, nullable=False),
    Column("mode", String(8), nullable=False),
)

site_config_changes = Table(
    "site_config_changes",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("recorded_at", DateTime(), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("previous_sha256", String(64)),
    Column("changed_by", Text, nullable=False),
    Column("change_note", Text),
    Column("changes", Text, nullable=False),
    Column("modes", Text, nullable=False),
    Column("content", Text, nullable=False),
)

service_keys = Table(
    "service_keys",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)
