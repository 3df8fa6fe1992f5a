"""Epic's override-reason title; the one-time JWT id store shared by every worker and replica."""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("feedback_items", sa.Column("reason_title", sa.Text))
    # key: sha256 hex of issuer + jti; expires_at: epoch seconds after which the row may go.
    op.create_table(
        "used_jti",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("expires_at", sa.Float, nullable=False),
    )
    op.create_index("ix_used_jti_expires_at", "used_jti", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_used_jti_expires_at", table_name="used_jti")
    op.drop_table("used_jti")
    op.drop_column("feedback_items", "reason_title")
