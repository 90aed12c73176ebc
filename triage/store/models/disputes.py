"""矛盾纠纷台账: disputes a grid mediates, their mediation sessions and outcome (u006).

A dispute may grow from a case (``case_id``) or be recorded directly by a grid worker or deputy;
its place (grid, community, street) is copied so the ledger filters like the cases' lists.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from triage.store.models.base import dt_field, in_values


class DisputeOutcome(StrEnum):
    RESOLVED = "resolved"  # 调解成功
    FAILED = "failed"  # 调解未成功
    LITIGATION = "litigation"  # 转诉讼


class Dispute(SQLModel, table=True):
    __tablename__ = "disputes"
    __table_args__ = (
        sa.CheckConstraint(
            f"outcome IS NULL OR {in_values('outcome', DisputeOutcome)}", name="ck_disputes_outcome"
        ),
        sa.Index("ix_disputes_street_created", "street", "created_at"),
        sa.Index("ix_disputes_grid_created", "grid_code", "created_at"),
        sa.Index("ix_disputes_created", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int | None = Field(default=None, foreign_key="cases.id")
    case_no: str | None = Field(default=None, max_length=20)
    title: str = Field(max_length=200)
    parties: str = Field(sa_type=sa.Text)  # who is in dispute, as the mediator writes it
    summary: str = Field(sa_type=sa.Text)
    grid_code: str | None = Field(default=None, max_length=64)
    community: str | None = Field(default=None, max_length=128)
    street: str | None = Field(default=None, max_length=128)
    created_by: str = Field(max_length=64)
    created_at: datetime = dt_field(nullable=False)
    outcome: str | None = Field(default=None, max_length=16)
    closed_at: datetime | None = dt_field()
    sessions: int = 0  # mediation sessions held (the rows are in mediation_sessions)


class MediationSession(SQLModel, table=True):
    __tablename__ = "mediation_sessions"

    id: int | None = Field(default=None, primary_key=True)
    dispute_id: int = Field(foreign_key="disputes.id", index=True)
    held_at: datetime = dt_field(nullable=False)
    mediator: str = Field(max_length=64)
    note: str = Field(sa_type=sa.Text)
    created_by: str = Field(max_length=64)
