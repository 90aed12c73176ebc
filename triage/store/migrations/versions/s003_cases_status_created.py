"""Index cases(status, created_at) for the admin desk's "all departments" listing by status.

Revision ID: s003
Revises: s002
Create Date: 2026-11-23
"""

from __future__ import annotations

from alembic import op

revision = "s003"
down_revision = "s002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_cases_status_created", "cases", ["status", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_cases_status_created", table_name="cases")
