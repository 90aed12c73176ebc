"""Case search: word index over the title, masked text and address for SQLite FTS5 and PostgreSQL
full-text, plus the normalised contact for the exact phone search (issue #13).

``case_words`` is an ordinary table (in the models); the full-text structure on top of it is
dialect-specific and made by :mod:`triage.store.fulltext` (FTS5 table and triggers on SQLite, a GIN
index on PostgreSQL). Existing cases are indexed here, in chunks.

Revision ID: u002_case_search
Revises: u001_attachments
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from triage.store import fulltext_schema

revision = "u002_case_search"
down_revision = "u001_attachments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_words",
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
        sa.Column("words", sa.Text(), nullable=False),
        sa.Column("contact_key", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("case_id"),
    )
    op.create_index("ix_case_words_contact_key", "case_words", ["contact_key"])
    conn = op.get_bind()
    fulltext_schema.create_objects(conn)
    fulltext_schema.backfill(conn)


def downgrade() -> None:
    fulltext_schema.drop_objects(op.get_bind())
    op.drop_index("ix_case_words_contact_key", table_name="case_words")
    op.drop_table("case_words")
