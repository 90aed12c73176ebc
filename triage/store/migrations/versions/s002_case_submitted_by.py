"""cases.submitted_by (indexed), back-filled from the submit audit events.

A grid worker sees the cases they submitted; reading that from a column replaces a scan of
the audit log per request.

Revision ID: s002
Revises: b001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "s002"
down_revision = "b001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("cases", sa.Column("submitted_by", sa.String(64), nullable=True))
    op.execute(
        "UPDATE cases SET submitted_by = (SELECT min(a.actor) FROM audit_events a "
        "WHERE a.case_id = cases.id AND a.action = 'submit')"
    )
    op.create_index("ix_cases_submitted_by", "cases", ["submitted_by"])


def downgrade() -> None:
    op.drop_index("ix_cases_submitted_by", table_name="cases")
    op.drop_column("cases", "submitted_by")
