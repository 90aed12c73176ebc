"""Read queries the store's service does not offer yet: case search with filters and scope,
and "who submitted this case" (from the submit audit event).

TODO(store): these belong in triage/store (e.g. ``CaseService.search``); move them there and
keep this module as a one-line re-export.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import select

from api.access import Scope
from triage.store.db import Database
from triage.store.lifecycle import ACTIVE_STATUSES
from triage.store.lists import local_day_start
from triage.store.models import AuditEvent, Case


@dataclass(slots=True)
class CaseFilter:
    status: list[str] | None = None
    category: str | None = None
    department_code: str | None = None
    grid_code: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    overdue: bool | None = None
    limit: int = 50
    offset: int = 0


def _submitted_by(username: str) -> sa.ColumnElement[bool]:
    ids = select(AuditEvent.case_id).where(AuditEvent.action == "submit", AuditEvent.actor == username)
    return Case.id.in_(ids)


def search_cases(db: Database, f: CaseFilter, scope: Scope, now: datetime) -> list[Case]:
    """Cases matching ``f`` inside ``scope``, newest first (offset paging)."""
    stmt = select(Case)
    if scope.department_code is not None:
        stmt = stmt.where(Case.department_code == scope.department_code)
    if scope.grids is not None:
        in_grid = Case.grid_code.in_(scope.grids) if scope.grids else sa.false()
        stmt = stmt.where(
            sa.or_(in_grid, _submitted_by(scope.submitted_by)) if scope.submitted_by else in_grid
        )
    if f.status:
        stmt = stmt.where(Case.status.in_(f.status))
    if f.category:
        stmt = stmt.where(sa.func.coalesce(Case.category, Case.suggested_category) == f.category)
    if f.department_code:
        stmt = stmt.where(
            sa.func.coalesce(Case.department_code, Case.suggested_department_code) == f.department_code
        )
    if f.grid_code:
        stmt = stmt.where(Case.grid_code == f.grid_code)
    if f.date_from:
        stmt = stmt.where(Case.created_at >= local_day_start(f.date_from))
    if f.date_to:
        stmt = stmt.where(Case.created_at < local_day_start(f.date_to + timedelta(days=1)))
    if f.overdue is not None:
        late = sa.and_(Case.status.in_([str(s) for s in ACTIVE_STATUSES]), Case.deadline < now)
        stmt = stmt.where(late if f.overdue else sa.not_(late))
    stmt = stmt.order_by(Case.created_at.desc(), Case.id.desc()).limit(f.limit).offset(f.offset)
    with db.session() as session:
        return list(session.exec(stmt))


def submitted_by(db: Database, case: Case) -> str | None:
    """The user who submitted ``case`` (actor of its submit event)."""
    stmt = select(AuditEvent.actor).where(AuditEvent.case_id == case.id, AuditEvent.action == "submit")
    with db.session() as session:
        return session.exec(stmt.limit(1)).first()
