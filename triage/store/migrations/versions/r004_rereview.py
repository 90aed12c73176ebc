"""Re-review flags can be cleared: who cleared a flag, when, and how (dismiss / correct).

Revision ID: r004_rereview
Revises: s003
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "r004_rereview"
down_revision = "s003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("case_suggestions") as batch:
        batch.add_column(sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("cleared_by", sa.String(64), nullable=True))
        batch.add_column(sa.Column("cleared_action", sa.String(16), nullable=True))
    # The open re-review list: flagged rows not yet cleared, newest first.
    op.create_index("ix_case_suggestions_rereview", "case_suggestions", ["flagged", "cleared_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_case_suggestions_rereview", table_name="case_suggestions")
    with op.batch_alter_table("case_suggestions") as batch:
        batch.drop_column("cleared_action")
        batch.drop_column("cleared_by")
        batch.drop_column("cleared_at")
