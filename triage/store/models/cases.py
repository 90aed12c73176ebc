"""Cases and what hangs off them: the case itself, its daily number counter, 回访 feedback, the audit trail.

The machine suggestion (``suggested_*``, ``model_version``, ``confidence``, JSON details) is kept apart
from the human decision (``category``, ``department_code``, ...), so the training export can tell
corrected cases from accepted ones.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from triage.route.config import PRIORITY_RANK  # the routing configuration's priorities, most urgent 0
from triage.store.models.base import dt_field, in_values, json_field


class CaseStatus(StrEnum):
    PENDING_REVIEW = "pending_review"
    DISPATCHED = "dispatched"  # 交办
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"  # 办结
    CLOSED = "closed"  # 回访
    MERGED = "merged"
    REJECTED = "rejected"


class Source(StrEnum):
    HOTLINE = "hotline"
    GRID = "grid"
    DEPUTY = "deputy"
    WEB = "web"
    OPEN311 = "open311"
    BATCH = "batch"


class CaseCounter(SQLModel, table=True):
    """Daily sequence behind the public case number (YYYYMMDD + 5 digits)."""

    __tablename__ = "case_counters"

    day: str = Field(primary_key=True, max_length=8)
    last_seq: int = 0


_CASE_VERSION = sa.Column("version", sa.Integer, nullable=False, default=1)
QUEUE_STATUS = CaseStatus.PENDING_REVIEW.value
# Statuses that can run past their deadline, in a fixed order: the overdue query repeats this exact
# IN list so SQLite can match the partial index predicate.
ACTIVE_STATUS_LIST = ("pending_review", "dispatched", "in_progress")
ACTIVE_SQL = f"status IN ({', '.join(repr(s) for s in ACTIVE_STATUS_LIST)})"


# The columns the ledgers' figures need (period, scope, status, timeliness, 回访 score): covering
# indexes, so counting 100,000 cases reads an index, not the wide rows — one led by the period
# (headline, u007), one by the department (departments ledger and a department's lists, u009), one
# by the grid (a grid's figures and lists, u014).
LEDGER_INDEX_COLUMNS = (
    "created_at", "department_code", "status", "satisfaction", "resolved_at", "deadline", "grid_code",
)  # fmt: skip
DEPARTMENT_LEDGER_INDEX_COLUMNS = ("department_code", "created_at", *LEDGER_INDEX_COLUMNS[2:])
GRID_LEDGER_INDEX_COLUMNS = ("grid_code", "created_at", *LEDGER_INDEX_COLUMNS[2:6], "department_code")


class Case(SQLModel, table=True):
    __tablename__ = "cases"
    __table_args__ = (
        sa.CheckConstraint(in_values("status", CaseStatus), name="ck_cases_status"),
        sa.CheckConstraint(in_values("source", Source), name="ck_cases_source"),
        # Review queue: pending cases by priority, deadline, lowest confidence. Led by status rather
        # than partial on it, so planners never prefer another status index and sort (s005).
        sa.Index("ix_cases_queue", "status", "priority_rank", "deadline", "confidence", "id"),
        sa.Index("ix_cases_queue_leases", "status", "lease_expires_at"),  # live leases, off the count
        sa.Index(  # overdue query
            "ix_cases_overdue",
            "deadline",
            sqlite_where=sa.text(ACTIVE_SQL),
            postgresql_where=sa.text(ACTIVE_SQL),
        ),
        sa.Index("ix_cases_grid_ledger", *GRID_LEDGER_INDEX_COLUMNS),  # a grid's lists and figures (u014)
        sa.Index("ix_cases_community_created", "community", "created_at"),
        sa.Index("ix_cases_street_created", "street", "created_at"),
        sa.Index("ix_cases_status_created", "status", "created_at"),  # admin desk: all departments
        # Dashboard: covering indexes, so its figures are read from indexes, not from the wide rows.
        sa.Index(
            "ix_cases_period",
            "created_at",
            "status",
            "category",
            "suggested_category",
            "department_code",
            "suggested_department_code",
            "resolved_at",
            "deadline",
        ),
        sa.Index(
            "ix_cases_status_department", "status", "department_code", "suggested_department_code", "deadline"
        ),
        sa.Index(  # 回访 scores of the period, for the city or a department (u013)
            "ix_cases_closed_satisfaction",
            "closed_at",
            "satisfaction",
            "department_code",
            "suggested_department_code",
            sqlite_where=sa.text("satisfaction IS NOT NULL"),
            postgresql_where=sa.text("satisfaction IS NOT NULL"),
        ),
        sa.Index("ix_cases_department_resolved", "department_code", "resolved_at"),  # a department's 办结清单
        # 台账 (issue #15): the headline and the departments ledger read these columns only (u007)
        sa.Index("ix_cases_ledger", *LEDGER_INDEX_COLUMNS),
        sa.Index("ix_cases_department_ledger", *DEPARTMENT_LEDGER_INDEX_COLUMNS),
        # the desk's 待办: a department's open cases by time left, sorted in the index (u011)
        sa.Index("ix_cases_department_urgency", "department_code", "status", "deadline", "priority_rank"),
    )
    __mapper_args__ = {"version_id_col": _CASE_VERSION}  # optimistic locking

    id: int | None = Field(default=None, primary_key=True)
    case_no: str = Field(max_length=20, unique=True)
    title: str | None = Field(default=None, max_length=200)
    text: str = Field(sa_type=sa.Text)  # normalised original text
    text_masked: str = Field(sa_type=sa.Text)  # PII masked, for display and logs
    source: str = Field(default=Source.WEB.value, max_length=16)
    reporter_name: str | None = Field(default=None, max_length=64)
    reporter_contact: str | None = Field(default=None, max_length=64)
    grid_code: str | None = Field(default=None, max_length=64)
    community: str | None = Field(default=None, max_length=128)
    street: str | None = Field(default=None, max_length=128)
    address: str | None = Field(default=None, max_length=256)
    submitted_by: str | None = Field(default=None, max_length=64, index=True)  # username (grid scope)
    created_at: datetime = dt_field(nullable=False, index=True)
    updated_at: datetime = dt_field(nullable=False)
    status: str = Field(default=CaseStatus.PENDING_REVIEW.value, max_length=16)

    # -- the human decision (what is in force) --------------------------------------------
    category: str | None = Field(default=None, max_length=64)
    subcategory: str | None = Field(default=None, max_length=64)
    department_code: str | None = Field(default=None, max_length=64)
    department: str | None = Field(default=None, max_length=128)
    level: str | None = Field(default=None, max_length=16)
    priority: str = Field(default="normal", max_length=8)
    priority_rank: int = Field(default=PRIORITY_RANK["normal"])
    deadline_hours: int = 0
    deadline: datetime = dt_field(nullable=False)
    requirement: str | None = Field(default=None, sa_type=sa.Text)  # handling requirement (交办)
    result: str | None = Field(default=None, sa_type=sa.Text)  # handling result (办结)
    satisfaction: int | None = None  # latest 回访 score, copied from feedback for the lists

    # -- duplicates ------------------------------------------------------------------------
    duplicate_of: str | None = Field(default=None, foreign_key="cases.case_no", max_length=20, index=True)
    duplicate_count: int = 0  # other citizens' cases merged into this one
    duplicate_candidates: list[dict[str, Any]] | None = json_field()
    # The submitter (a role that may not merge) thinks this duplicates that case: the reviewer decides (t002).
    possible_duplicate_of: str | None = Field(default=None, max_length=20)

    # -- the machine suggestion, kept apart ----------------------------------------------------
    suggested_category: str | None = Field(default=None, max_length=64)
    suggested_subcategory: str | None = Field(default=None, max_length=64)
    suggested_department_code: str | None = Field(default=None, max_length=64)
    suggested_department: str | None = Field(default=None, max_length=128)
    suggested_level: str | None = Field(default=None, max_length=16)
    suggested_priority: str | None = Field(default=None, max_length=8)
    suggested_deadline_hours: int | None = None
    model_category: str | None = Field(default=None, max_length=64)
    model_version: str | None = Field(default=None, max_length=64)
    confidence: float = 0.0
    department_confidence: float | None = None  # the department suggestion's own probability (t003)
    needs_review: bool = True
    top_k: list[dict[str, Any]] | None = json_field()
    explanation: list[str] | None = json_field()
    route_reason: dict[str, Any] | None = json_field()
    route_alternatives: list[dict[str, Any]] | None = json_field()

    # -- review and handling trail ---------------------------------------------------------------
    reviewed_by: str | None = Field(default=None, max_length=64)
    reviewed_at: datetime | None = dt_field(index=True)
    corrected: bool = False
    dispatched_by: str | None = Field(default=None, max_length=64)
    dispatched_at: datetime | None = dt_field(index=True)
    started_at: datetime | None = dt_field()
    resolved_by: str | None = Field(default=None, max_length=64)
    resolved_at: datetime | None = dt_field(index=True)
    closed_at: datetime | None = dt_field()
    reject_reason: str | None = Field(default=None, sa_type=sa.Text)
    return_reason: str | None = Field(default=None, sa_type=sa.Text)
    returned_count: int = 0

    # -- concurrency ------------------------------------------------------------------------------
    version: int = Field(default=1, sa_column=_CASE_VERSION)
    lease_owner: str | None = Field(default=None, max_length=64)
    lease_expires_at: datetime | None = dt_field()

    @property
    def citizens(self) -> int:
        """How many citizens raised this matter (the reporter plus merged duplicates)."""
        return 1 + self.duplicate_count


class Feedback(SQLModel, table=True):
    """回访: the citizen's satisfaction with the handling."""

    __tablename__ = "feedback"
    __table_args__ = (sa.CheckConstraint("satisfaction BETWEEN 1 AND 5", name="ck_feedback_satisfaction"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    satisfaction: int
    comment: str | None = Field(default=None, sa_type=sa.Text)
    created_by: str | None = Field(default=None, max_length=64)
    created_at: datetime = dt_field(nullable=False)


class AuditEvent(SQLModel, table=True):
    """Append-only (database triggers refuse UPDATE and DELETE): who did what, when, before/after."""

    __tablename__ = "audit_events"
    __table_args__ = (sa.Index("ix_audit_events_case", "case_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int | None = Field(default=None, foreign_key="cases.id")
    case_no: str | None = Field(default=None, max_length=20)
    actor: str = Field(max_length=64)
    at: datetime = dt_field(nullable=False, index=True)
    action: str = Field(max_length=32)
    before: dict[str, Any] | None = json_field()
    after: dict[str, Any] | None = json_field()
    note: str | None = Field(default=None, sa_type=sa.Text)
