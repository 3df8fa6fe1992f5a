"""Create the feedback_items and cards_issued tables."""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "feedback_items",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("dedup_key", sa.String(64), nullable=False),
        sa.Column("service_id", sa.Text, nullable=False),
        sa.Column("card_uuid", sa.String(64), nullable=False),
        sa.Column("rule_id", sa.Text),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("outcome_timestamp", sa.DateTime(), nullable=False),
        sa.Column("accepted_suggestions", sa.Text, nullable=False),
        sa.Column("override_reason", sa.Text),
        sa.Column("reason_system", sa.Text),
        sa.Column("reason_code", sa.Text),
        sa.Column("reason_display", sa.Text),
        sa.Column("user_comment", sa.Text),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("dedup_key", name="uq_feedback_items_dedup_key"),
    )
    op.create_index(
        "ix_feedback_items_rule_time", "feedback_items", ["rule_id", "outcome_timestamp"]
    )
    op.create_index("ix_feedback_items_time", "feedback_items", ["outcome_timestamp"])
    op.create_table(
        "cards_issued",
        sa.Column("rule_id", sa.Text, primary_key=True),
        sa.Column("hour", sa.DateTime(), primary_key=True),
        sa.Column("count", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("cards_issued")
    op.drop_index("ix_feedback_items_time", table_name="feedback_items")
    op.drop_index("ix_feedback_items_rule_time", table_name="feedback_items")
    op.drop_table("feedback_items")
