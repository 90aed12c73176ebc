"""The three lists (三张清单) of grassroots governance as queries.

* 问题清单 ``problem_list``: every matter collected, by date received;
* 交办清单 ``assignment_list``: matters handed to a department with deadline and requirement;
* 办结清单 ``completion_list``: matters completed, with the result and the citizen's feedback.

All three filter by grid, community, street, department and a local-date range
(inclusive, China Standard Time) and return plain dict rows ready for JSON, CSV or a page.

The caller's row ``scope`` is applied with the same conditions as case search and detail
(:func:`triage.store.search.scope_conditions`): a department lists only the cases decided
for it, not those merely suggested for it, which it could not open.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from triage.store.lifecycle import is_active
from triage.store.models import Case, CaseStatus, Feedback
from triage.store.numbers import local_day_start
from triage.store.search import ScopeLike, scope_conditions

S = CaseStatus
ASSIGNED = [str(s) for s in (S.DISPATCHED, S.IN_PROGRESS, S.RESOLVED, S.CLOSED)]
COMPLETED = [str(s) for s in (S.RESOLVED, S.CLOSED)]


def _to_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


@dataclass(slots=True)
class ListFilter:
    """Filters shared by the three lists; dates are local calendar days, both inclusive.

    ``department_code`` filters on the department in charge, or the suggested one before review
    (问题清单); ``scope`` restricts rows to what the caller may open.
    """

    grid_code: str | None = None
    community: str | None = None
    street: str | None = None
    department_code: str | None = None
    date_from: date | str | None = None
    date_to: date | str | None = None
    limit: int = 100
    offset: int = 0
    scope: ScopeLike | None = None

    def apply(
        self, stmt: sa.Select, date_column: Any, department_column: Any = col(Case.department_code)
    ) -> sa.Select:
        stmt = stmt.where(*scope_conditions(self.scope))
        for name in ("grid_code", "community", "street"):
            value = getattr(self, name)
            if value:
                stmt = stmt.where(getattr(Case, name) == value)
        if self.department_code:
            stmt = stmt.where(department_column == self.department_code)
        if self.date_from:
            stmt = stmt.where(date_column >= local_day_start(self.date_from))
        if self.date_to:
            stmt = stmt.where(date_column < local_day_start(_to_date(self.date_to) + timedelta(days=1)))
        return stmt.order_by(date_column.desc(), col(Case.id).desc()).limit(self.limit).offset(self.offset)


_COMMON = (
    col(Case.case_no),
    col(Case.title),
    col(Case.grid_code),
    col(Case.community),
    col(Case.street),
    col(Case.status),
)


_FLAGS = ("overdue", "on_time")  # SQLite returns 0/1 for boolean expressions


def _rows(session: Session, stmt: sa.Select) -> list[dict[str, Any]]:
    rows = [dict(row._mapping) for row in session.execute(stmt)]
    for row in rows:
        for flag in _FLAGS:
            if row.get(flag) is not None:
                row[flag] = bool(row[flag])
    return rows


def problem_list(session: Session, f: ListFilter | None = None) -> list[dict[str, Any]]:
    """问题清单: what citizens raised, newest first (text PII-masked)."""
    f = f or ListFilter()
    department = sa.func.coalesce(col(Case.department_code), col(Case.suggested_department_code))
    stmt: sa.Select = sa.select(
        *_COMMON,
        col(Case.created_at),
        col(Case.source),
        col(Case.text_masked).label("text"),
        col(Case.address),
        sa.func.coalesce(col(Case.category), col(Case.suggested_category)).label("category"),
        department.label("department_code"),
        col(Case.priority),
        (col(Case.duplicate_count) + 1).label("citizens"),
    )
    # Before review a problem belongs to the suggested department.
    return _rows(session, f.apply(stmt, col(Case.created_at), department))


def assignment_list(session: Session, f: ListFilter | None = None, *, now: datetime) -> list[dict[str, Any]]:
    """交办清单: dispatched matters (text PII-masked) with department, level, deadline and requirement."""
    f = f or ListFilter()
    overdue = sa.and_(is_active(), col(Case.deadline) < now)
    stmt: sa.Select = sa.select(
        *_COMMON,
        col(Case.text_masked).label("text"),
        col(Case.category),
        col(Case.subcategory),
        col(Case.department_code),
        col(Case.department),
        col(Case.level),
        col(Case.priority),
        col(Case.dispatched_at),
        col(Case.dispatched_by),
        col(Case.deadline),
        col(Case.requirement),
        sa.case((overdue, True), else_=False).label("overdue"),
    ).where(col(Case.status).in_(ASSIGNED), col(Case.dispatched_at).is_not(None))
    return _rows(session, f.apply(stmt, col(Case.dispatched_at)))


def _is_completed(session: Session) -> sa.ColumnElement[bool]:
    """``status IN ('resolved', 'closed')``; on SQLite written ``+status`` so the planner walks the
    ``resolved_at`` index newest first instead of sorting every completed case (without ANALYZE
    statistics it takes an index on status for the more selective one)."""
    if session.get_bind().dialect.name == "sqlite":
        return sa.literal_column("+cases.status").in_(COMPLETED)
    return col(Case.status).in_(COMPLETED)


def completion_list(session: Session, f: ListFilter | None = None) -> list[dict[str, Any]]:
    """办结清单: completed matters (text PII-masked) with result, timeliness and the latest feedback."""
    f = f or ListFilter()
    inner = aliased(Feedback)
    latest = (
        sa.select(sa.func.max(col(inner.id)))
        .where(col(inner.case_id) == col(Case.id))
        .correlate(Case)
        .scalar_subquery()
    )
    stmt: sa.Select = (
        sa.select(
            *_COMMON,
            col(Case.text_masked).label("text"),
            col(Case.category),
            col(Case.department_code),
            col(Case.department),
            col(Case.dispatched_at),
            col(Case.deadline),
            col(Case.resolved_at),
            col(Case.resolved_by),
            col(Case.result),
            (col(Case.resolved_at) <= col(Case.deadline)).label("on_time"),
            col(Feedback.satisfaction),
            col(Feedback.comment).label("feedback"),
            col(Case.closed_at),
        )
        .outerjoin(Feedback, col(Feedback.id) == latest)
        .where(_is_completed(session), col(Case.resolved_at).is_not(None))
    )
    return _rows(session, f.apply(stmt, col(Case.resolved_at)))
