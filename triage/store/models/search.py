"""The word index behind case search (u002): one row per case with its search words and phone key.

Kept apart from ``cases`` so the wide case rows stay as they are and the index can be rebuilt
from them at any time (:func:`triage.store.fulltext.backfill`). The database's own full-text
structure sits on top of ``words``: an FTS5 table on SQLite, a stored tsvector column with a GIN
index on PostgreSQL; both are created by migration u002 only and are
not part of this metadata (see :func:`triage.store.fulltext.include_object`).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


class CaseWords(SQLModel, table=True):
    """Search words of a case's title, masked text and address, and its normalised contact."""

    __tablename__ = "case_words"

    case_id: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
        )
    )
    # jieba search tokens separated by single spaces (the masked text: no phone or ID number in it)
    words: str = Field(sa_type=sa.Text)
    # reporter_contact as digits (country code dropped) for the exact phone search; None if not a phone
    contact_key: str | None = Field(default=None, max_length=32, index=True)
