"""Deputies' supervision (督办), whistle-blowing escalation (吹哨报到) and 回访 calls of a case (u006).

A ``Supervision`` is a deputy's (or admin's) requirement with a due date on one case; the
department sees it on the case and its desk, and a supervision whose case is not 办结 by the due
date counts against the department. An ``Escalation`` moves a case one level up (网格 → 社区 →
街道 → 区 → 市) or to a named department; the receiving department must report in (报到) by
``report_due``. A ``FollowUp`` is one 回访 call on a resolved case. The rows are history: they are
never deleted, and each write has its audit event.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from triage.store.models.base import dt_field, in_values


class Supervision(SQLModel, table=True):
    __tablename__ = "supervisions"
    __table_args__ = (sa.Index("ix_supervisions_due", "due"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    case_no: str = Field(max_length=20)
    requirement: str = Field(sa_type=sa.Text)
    due: datetime = dt_field(nullable=False)
    created_by: str = Field(max_length=64, index=True)
    created_at: datetime = dt_field(nullable=False)


class Escalation(SQLModel, table=True):
    __tablename__ = "escalations"
    __table_args__ = (
        # a department's unacknowledged whistles: WHERE to_department_code = ? AND reported_in_at IS NULL
        sa.Index(
            "ix_escalations_department_open",
            "to_department_code",
            "reported_in_at",
            "superseded_at",
            "report_due",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    case_no: str = Field(max_length=20)
    from_level: str | None = Field(default=None, max_length=16)
    to_level: str = Field(max_length=16)
    from_department_code: str | None = Field(default=None, max_length=64)
    to_department_code: str = Field(max_length=64)
    reason: str = Field(sa_type=sa.Text)
    escalated_by: str = Field(max_length=64, index=True)
    escalated_at: datetime = dt_field(nullable=False)
    report_due: datetime = dt_field(nullable=False)
    reported_in_by: str | None = Field(default=None, max_length=64)
    reported_in_at: datetime | None = dt_field()
    superseded_at: datetime | None = dt_field()  # escalated again before anyone reported in


class FollowUpRating(StrEnum):
    SATISFIED = "satisfied"  # 满意
    BASICALLY_SATISFIED = "basically_satisfied"  # 基本满意
    UNSATISFIED = "unsatisfied"  # 不满意: the case is handled again (重办)
    UNREACHABLE = "unreachable"  # 未接通: tried again, closed as 未回访 after the last attempt


class FollowUpOutcome(StrEnum):
    CLOSED = "closed"
    REHANDLE = "rehandle"  # back to the department (重办)
    RETRY = "retry"
    UNREACHED = "unreached"  # closed as 未回访


class FollowUp(SQLModel, table=True):
    """One 回访 call on a resolved case: its rating and what it did to the case."""

    __tablename__ = "followups"
    __table_args__ = (
        sa.CheckConstraint(in_values("rating", FollowUpRating), name="ck_followups_rating"),
        sa.CheckConstraint(in_values("outcome", FollowUpOutcome), name="ck_followups_outcome"),
        sa.Index("ix_followups_department_created", "department_code", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    case_no: str = Field(max_length=20)
    rating: str = Field(max_length=24)
    outcome: str = Field(max_length=16)
    attempt: int = 1  # the how-many-th call since the case was resolved
    comment: str | None = Field(default=None, sa_type=sa.Text)
    department_code: str | None = Field(default=None, max_length=64)  # who handled it (counted against)
    created_by: str = Field(max_length=64)
    created_at: datetime = dt_field(nullable=False)
