"""Case search for the API and the web UI: filters plus the caller's row scope, newest first.

The scope (department, grids, "cases I submitted") is passed in by the caller, which owns
the roles; this module only turns it into SQL on indexed columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from triage.store.db import Database
from triage.store.lifecycle import ACTIVE_STATUSES
from triage.store.models import Case, utcnow
from triage.store.numbers import local_day_start


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


class ScopeLike(Protocol):
    """Row restrictions; all None means every case (``api.access.Scope`` has this shape)."""

    @property
    def department_code(self) -> str | None: ...
    @property
    def grids(self) -> tuple[str, ...] | None: ...
    @property
    def submitted_by(self) -> str | None: ...  # with ``grids``: either condition admits a case


@dataclass(frozen=True, slots=True)
class CaseScope:
    department_code: str | None = None
    grids: tuple[str, ...] | None = None
    submitted_by: str | None = None


def scope_conditions(scope: ScopeLike | None) -> list[sa.ColumnElement[bool]]:
    """WHERE conditions on ``Case`` for a caller's scope (shared by every scoped case list)."""
    out: list[sa.ColumnElement[bool]] = []
    if scope is not None and scope.department_code is not None:
        out.append(col(Case.department_code) == scope.department_code)
    if scope is not None and scope.grids is not None:
        in_grid = col(Case.grid_code).in_(scope.grids) if scope.grids else sa.false()
        mine = col(Case.submitted_by) == scope.submitted_by if scope.submitted_by else None
        out.append(sa.or_(in_grid, mine) if mine is not None else in_grid)
    return out


def search_statement(f: CaseFilter, scope: ScopeLike | None, now: datetime) -> SelectOfScalar[Case]:
    """The SELECT behind :func:`search_cases` (exposed for EXPLAIN in benchmarks)."""
    stmt = select(Case).where(*scope_conditions(scope))
    if f.status:
        stmt = stmt.where(col(Case.status).in_(f.status))
    if f.category:
        stmt = stmt.where(sa.func.coalesce(col(Case.category), col(Case.suggested_category)) == f.category)
    if f.department_code:
        stmt = stmt.where(
            sa.func.coalesce(col(Case.department_code), col(Case.suggested_department_code))
            == f.department_code
        )
    if f.grid_code:
        stmt = stmt.where(col(Case.grid_code) == f.grid_code)
    if f.date_from:
        stmt = stmt.where(col(Case.created_at) >= local_day_start(f.date_from))
    if f.date_to:
        stmt = stmt.where(col(Case.created_at) < local_day_start(f.date_to + timedelta(days=1)))
    if f.overdue is not None:
        late = sa.and_(col(Case.status).in_([str(s) for s in ACTIVE_STATUSES]), col(Case.deadline) < now)
        stmt = stmt.where(late if f.overdue else sa.not_(late))
    return stmt.order_by(col(Case.created_at).desc(), col(Case.id).desc()).limit(f.limit).offset(f.offset)


def search_cases(
    db: Database, f: CaseFilter, scope: ScopeLike | None = None, now: datetime | None = None
) -> list[Case]:
    """Cases matching ``f`` inside ``scope``, newest first (offset paging)."""
    stmt = search_statement(f, scope, now or utcnow())
    with db.session() as session:
        return list(session.exec(stmt))


def submitted_by(db: Database | None, case: Case) -> str | None:
    """The user who submitted ``case`` (kept on the case since migration s002)."""
    return case.submitted_by
