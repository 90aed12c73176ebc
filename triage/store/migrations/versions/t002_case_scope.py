"""Case scope: possible-duplicate link for submissions that may not merge.

A grid worker, operator or deputy who recognises a duplicate at intake no longer merges it
(only reviewers decide merges); the new case keeps the case number it may duplicate in
``cases.possible_duplicate_of`` and the reviewer merges or keeps it.

Revision ID: t002_case_scope
Revises: t001_accounts_sessions
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "t002_case_scope"
down_revision = "t001_accounts_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("cases", sa.Column("possible_duplicate_of", sa.String(20), nullable=True))


def downgrade() -> None:
    op.drop_column("cases", "possible_duplicate_of")
