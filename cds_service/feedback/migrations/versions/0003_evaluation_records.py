"""Evaluation records (one per service call, with the rules that fired) and the site-file
change log, and service-made keys (cds_service.governance)."""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "evaluations",
        sa.Column("id", sa.String(36), primary_key=True),  # a UUID; the AuditEvent id
        sa.Column("at", sa.DateTime(), nullable=False),  # naive UTC
        sa.Column("site", sa.Text, nullable=False),
        sa.Column("hook", sa.Text, nullable=False),
        sa.Column("service_id", sa.Text, nullable=False),
        sa.Column("knowledge_version", sa.Text, nullable=False),
        sa.Column("knowledge_sha256", sa.String(64), nullable=False),
        sa.Column("config_sha256", sa.String(64), nullable=False),  # "" without a site file
        sa.Column("patient_hmac", sa.String(64), nullable=False),
        sa.Column("patient_ref", sa.Text),  # only for sites that opt in
        sa.Column("cards", sa.Integer, nullable=False),
    )
    op.create_index("ix_evaluations_at", "evaluations", ["at"])
    op.create_table(
        "evaluation_rules",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("evaluation_id", sa.String(36), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),  # the evaluation's, for time windows
        sa.Column("site", sa.Text, nullable=False),
        sa.Column("rule_id", sa.Text, nullable=False),
        sa.Column("mode", sa.String(8), nullable=False),  # active or silent
    )
    op.create_index("ix_evaluation_rules_at", "evaluation_rules", ["at"])
    op.create_index("ix_evaluation_rules_evaluation", "evaluation_rules", ["evaluation_id"])
    op.create_table(
        "site_config_changes",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),  # naive UTC
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("previous_sha256", sa.String(64)),
        sa.Column("changed_by", sa.Text, nullable=False),
        sa.Column("change_note", sa.Text),
        sa.Column("changes", sa.Text, nullable=False),  # JSON list of {site, rule, from, to}
        sa.Column("modes", sa.Text, nullable=False),  # JSON {site: {rule: mode}} in force
        sa.Column("content", sa.Text, nullable=False),  # the file as read
    )
    # Keys the service makes once and every worker and replica shares (the default patient
    # HMAC key when CDS_PATIENT_HASH_KEY is not set).
    op.create_table(
        "service_keys",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("service_keys")
    op.drop_table("site_config_changes")
    op.drop_index("ix_evaluation_rules_evaluation", table_name="evaluation_rules")
    op.drop_index("ix_evaluation_rules_at", table_name="evaluation_rules")
    op.drop_table("evaluation_rules")
    op.drop_index("ix_evaluations_at", table_name="evaluations")
    op.drop_table("evaluations")
