"""Case search for the API and the web UI: filters plus the caller's row scope, newest first.

``q`` (case number, address, words) and ``phone`` (exact) use the word index of
:mod:`triage.store.fulltext`; the scope applies to them like to every other filter.

The scope (department, grids, "cases I submitted") is passed in by the caller, which owns
the roles; this module only turns it into SQL on indexed columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from triage.store import fulltext
from triage.store.db import Database
from triage.store.lifecycle import ACTIVE_STATUSES
from triage.store.models import Case, utcnow
from triage.store.numbers import local_day_start

FEW_MATCHES = 2000  # up to this many word matches, search sorts the matches instead of walking cases


@dataclass(slots=True)
class CaseFilter:
    status: list[str] | None = None
    category: str | None = None
    department_code: str | None = None
    grid_code: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    overdue: bool | None = None
    q: str | None = None  # case number (or its leading digits), address, words of the text
    phone: str | None = None  # the reporter's contact, exactly (digits; +86 and separators ignored)
    priority: str | None = None
    source: str | None = None
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


class _IdsIn(sa.sql.expression.ColumnElement[bool]):
    """``cases.id IN (…)``; on PostgreSQL ``= ANY(array)``: one parameter instead of up to
    :data:`FEW_MATCHES`, which PostgreSQL plans much faster than a long IN list."""

    type = sa.Boolean()
    inherit_cache = False

    def __init__(self, ids: Sequence[int]) -> None:
        self.ids = list(ids)


@compiles(_IdsIn, "postgresql")
def _ids_any(element: _IdsIn, compiler: SQLCompiler, **kw: Any) -> str:
    ids = sa.bindparam(None, element.ids, type_=ARRAY(sa.Integer))
    return f"cases.id = ANY({compiler.process(ids, **kw)})"


def ids_condition(ids: Sequence[int], dialect: str) -> sa.ColumnElement[bool]:
    """``cases.id`` among ``ids``: a plain IN on SQLite (fast there), one array on PostgreSQL."""
    return _IdsIn(ids) if dialect == "postgresql" else col(Case.id).in_(ids)


def _conditions(
    f: CaseFilter,
    scope: ScopeLike | None,
    now: datetime,
    match_ids: Sequence[int] | None,
    dialect: str = "sqlite",
) -> list[sa.ColumnElement[bool]]:
    out = scope_conditions(scope)
    if f.status:
        out.append(col(Case.status).in_(f.status))
    if f.category:
        out.append(sa.func.coalesce(col(Case.category), col(Case.suggested_category)) == f.category)
    if f.department_code:
        department = sa.func.coalesce(col(Case.department_code), col(Case.suggested_department_code))
        out.append(department == f.department_code)
    if f.grid_code:
        out.append(col(Case.grid_code) == f.grid_code)
    if f.priority:
        out.append(col(Case.priority) == f.priority)
    if f.source:
        out.append(col(Case.source) == f.source)
    if f.q and match_ids is not None:
        out.append(ids_condition(match_ids, dialect))
    elif f.q:
        out.append(fulltext.matches(fulltext.check_query(f.q)))
    if f.phone:
        out.append(fulltext.phone_matches(f.phone))
    if f.date_from:
        out.append(col(Case.created_at) >= local_day_start(f.date_from))
    if f.date_to:
        out.append(col(Case.created_at) < local_day_start(f.date_to + timedelta(days=1)))
    if f.overdue is not None:
        late = sa.and_(col(Case.status).in_([str(s) for s in ACTIVE_STATUSES]), col(Case.deadline) < now)
        out.append(late if f.overdue else sa.not_(late))
    return out


def search_statement(
    f: CaseFilter, scope: ScopeLike | None, now: datetime, *, match_ids: Sequence[int] | None = None
) -> SelectOfScalar[Case]:
    """The SELECT behind :func:`search_cases` (exposed for EXPLAIN in benchmarks).

    ``match_ids``: the cases ``f.q`` finds, when :func:`fulltext.matching_ids` listed them (few
    matches); without them ``q`` becomes a subquery on the full-text index (many matches).
    """
    stmt = select(Case).where(*_conditions(f, scope, now, match_ids))
    return stmt.order_by(col(Case.created_at).desc(), col(Case.id).desc()).limit(f.limit).offset(f.offset)


def search_cases(
    db: Database, f: CaseFilter, scope: ScopeLike | None = None, now: datetime | None = None
) -> list[Case]:
    """Cases matching ``f`` inside ``scope``, newest first (offset paging).

    With few word matches the page is cut from the matches' (created_at, id) alone, sorted here:
    asked for "newest first, 50 rows", both planners would otherwise walk every case backwards
    hoping to meet the matches early, which for one day's cases or a rare word is the whole table.
    """
    now = now or utcnow()
    with db.session() as session:
        ids = fulltext.matching_ids(session, f.q, FEW_MATCHES) if f.q else None
        if ids is None:
            return list(session.exec(search_statement(f, scope, now)))
        conditions = _conditions(f, scope, now, ids, db.dialect)
        keys = sa.select(col(Case.id), col(Case.created_at)).where(*conditions)
        newest = sorted(session.execute(keys).all(), key=lambda r: (r[1], r[0]), reverse=True)
        page = [r[0] for r in newest[f.offset : f.offset + f.limit]]
        rows = {c.id: c for c in session.exec(select(Case).where(ids_condition(page, db.dialect)))}
        return [rows[i] for i in page if i in rows]


def submitted_by(db: Database | None, case: Case) -> str | None:
    """The user who submitted ``case`` (kept on the case since migration s002)."""
    return case.submitted_by
