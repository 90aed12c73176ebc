"""代表建议: a deputy's written proposal from repeated matters, tracked until answered and rated (u006).

A proposal names a target department, links the cases it grew from, and is answered (答复) by
that department by ``answer_due``; the deputy rates the answer, and an unsatisfied rating sends
it back for re-handling with a new due date. Every step writes an audit event (``case_id``
empty, ``after.proposal_id`` set).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from triage.store.models.base import dt_field, in_values


class ProposalStatus(StrEnum):
    ASSIGNED = "assigned"  # 已交办: waiting for the department's answer
    ANSWERED = "answered"  # 已答复: waiting for the deputy's rating
    CLOSED = "closed"  # 已办结: rated satisfied or basically satisfied


class ProposalRating(StrEnum):
    SATISFIED = "satisfied"  # 满意
    BASICALLY_SATISFIED = "basically_satisfied"  # 基本满意
    UNSATISFIED = "unsatisfied"  # 不满意: answered again (重新办理)


class Proposal(SQLModel, table=True):
    __tablename__ = "proposals"
    __table_args__ = (
        sa.CheckConstraint(in_values("status", ProposalStatus), name="ck_proposals_status"),
        sa.Index("ix_proposals_department_status", "department_code", "status", "answer_due"),
        sa.Index("ix_proposals_created_by", "created_by", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)
    problem: str = Field(sa_type=sa.Text)
    suggestion: str = Field(sa_type=sa.Text)
    department_code: str = Field(max_length=64)
    grid_code: str | None = Field(default=None, max_length=64)  # the deputy's grid it came from
    created_by: str = Field(max_length=64)
    created_at: datetime = dt_field(nullable=False)
    status: str = Field(default=ProposalStatus.ASSIGNED.value, max_length=16)
    answer_due: datetime = dt_field(nullable=False)
    answer: str | None = Field(default=None, sa_type=sa.Text)
    answered_by: str | None = Field(default=None, max_length=64)
    answered_at: datetime | None = dt_field()
    rating: str | None = Field(default=None, max_length=24)
    rating_comment: str | None = Field(default=None, sa_type=sa.Text)
    rated_at: datetime | None = dt_field()
    rehandle_count: int = 0


class ProposalCase(SQLModel, table=True):
    """The cases a proposal grew from (a hot issue's, or picked by hand)."""

    __tablename__ = "proposal_cases"

    proposal_id: int = Field(foreign_key="proposals.id", primary_key=True)
    case_id: int = Field(foreign_key="cases.id", primary_key=True)
    case_no: str = Field(max_length=20)
