"""Case search: the sort key and scope columns in the word index (issue #13).

``case_words`` gets copies of the case's ``created_at``, ``department_code``, ``grid_code`` and
``submitted_by`` with two indexes, (created_at, case_id) and (department_code, created_at,
case_id), so a search finds, scopes and orders its page inside the word table instead of probing
``cases`` per row. A trigger on ``cases`` (:func:`triage.store.fulltext_schema.create_scope_sync`) keeps
the copies right on every write path; on SQLite the FTS5 update trigger is narrowed to changes of
``words``. Existing rows are filled from ``cases`` here.

Revision ID: u004_case_words_sort
Revises: u003_notifications
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from triage.store import fulltext_schema

revision = "u004_case_words_sort"
down_revision = "u003_notifications"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_case_words_created": ["created_at", "case_id"],
    "ix_case_words_department_created": ["department_code", "created_at", "case_id"],
}


def upgrade() -> None:
    # plain ADD COLUMN (nullable): no table rebuild, so SQLite's FTS5 triggers on case_words stay
    op.add_column("case_words", sa.Column("created_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("case_words", sa.Column("department_code", sa.String(length=64), nullable=True))
    op.add_column("case_words", sa.Column("grid_code", sa.String(length=64), nullable=True))
    op.add_column("case_words", sa.Column("submitted_by", sa.String(length=64), nullable=True))
    conn = op.get_bind()
    fulltext_schema.copy_scope(conn)
    for name, columns in INDEXES.items():
        op.create_index(name, "case_words", columns)
    fulltext_schema.create_scope_sync(conn)


def downgrade() -> None:
    fulltext_schema.drop_scope_sync(op.get_bind())
    for name in INDEXES:
        op.drop_index(name, table_name="case_words")
    for column in ("submitted_by", "grid_code", "department_code", "created_at"):
        op.drop_column("case_words", column)
