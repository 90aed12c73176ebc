"""The word index behind case search (u002): one row per case with its search words and phone key.

Kept apart from ``cases`` so the wide case rows stay as they are and the index can be rebuilt
from them at any time (:func:`triage.store.fulltext.backfill`). The database's own full-text
structure sits on top of ``words``: an FTS5 table on SQLite, a stored tsvector column with a GIN
index on PostgreSQL; both are created by migration u002 only and are
not part of this metadata (see :func:`triage.store.fulltext.include_object`).

Since u004 the row also carries the case's sort key (``created_at``) and scope columns
(``department_code``, ``grid_code``, ``submitted_by``), copies kept in step by a trigger on
``cases``: a search then finds, scopes and orders its page inside this table and its indexes,
without visiting ``cases`` row by row (docs/benchmarks.md, "Search").
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from triage.store.models.base import dt_field


class CaseWords(SQLModel, table=True):
    """Search words of a case's title, masked text and address, and its normalised contact."""

    __tablename__ = "case_words"
    __table_args__ = (
        sa.Index("ix_case_words_created", "created_at", "case_id"),  # unscoped: newest first
        sa.Index("ix_case_words_department_created", "department_code", "created_at", "case_id"),
    )

    case_id: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
        )
    )
    # jieba search tokens separated by single spaces (the masked text: no phone or ID number in it)
    words: str = Field(sa_type=sa.Text)
    # reporter_contact as digits (country code dropped) for the exact phone search; None if not a phone
    contact_key: str | None = Field(default=None, max_length=32, index=True)
    # copies of the case's columns (u004), for ordering and scoping inside the index; the trigger
    # ``cases_scope_au`` (fulltext.SCOPE_TRIGGER) follows every UPDATE of them on ``cases``
    created_at: datetime | None = dt_field()
    department_code: str | None = Field(default=None, max_length=64)
    grid_code: str | None = Field(default=None, max_length=64)
    submitted_by: str | None = Field(default=None, max_length=64)
