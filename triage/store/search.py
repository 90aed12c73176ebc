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
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from triage.store import fulltext
from triage.store.db import Database
from triage.store.lifecycle import ACTIVE_STATUSES
from triage.store.models import Case, utcnow
from triage.store.models.search import CaseWords
from triage.store.numbers import local_day_start

FEW_MATCHES = 2000  # up to this many word matches, search sorts the matches instead of walking cases
WALK_BUDGET = 1000  # a q search first probes this many newest cases in scope (a page of a common word)


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


def scope_conditions(scope: ScopeLike | None, table: Any = Case) -> list[sa.ColumnElement[bool]]:
    """WHERE conditions on ``Case`` for a caller's scope (shared by every scoped case list);
    ``table=CaseWords`` states the same scope on the word index's copies of those columns."""
    out: list[sa.ColumnElement[bool]] = []
    if scope is not None and scope.department_code is not None:
        out.append(col(table.department_code) == scope.department_code)
    if scope is not None and scope.grids is not None:
        in_grid = col(table.grid_code).in_(scope.grids) if scope.grids else sa.false()
        mine = col(table.submitted_by) == scope.submitted_by if scope.submitted_by else None
        out.append(sa.or_(in_grid, mine) if mine is not None else in_grid)
    return out


class _IdsIn(sa.sql.expression.ColumnElement[bool]):
    """``cases.id IN (…)``; on PostgreSQL ``= ANY(array)``: one parameter instead of up to
    :data:`FEW_MATCHES`, which PostgreSQL plans much faster than a long IN list."""

    type = sa.Boolean()
    inherit_cache = False

    def __init__(self, ids: Sequence[int], column: str = "cases.id") -> None:
        self.ids = list(ids)
        self.column = column


@compiles(_IdsIn, "postgresql")
def _ids_any(element: _IdsIn, compiler: SQLCompiler, **kw: Any) -> str:
    ids = sa.bindparam(None, element.ids, type_=ARRAY(sa.Integer))
    return f"{element.column} = ANY({compiler.process(ids, **kw)})"


def ids_condition(ids: Sequence[int], dialect: str, *, words: bool = False) -> sa.ColumnElement[bool]:
    """``cases.id`` (``words``: ``case_words.case_id``) among ``ids``: a plain IN on SQLite (fast
    there), one array on PostgreSQL."""
    if dialect == "postgresql":
        return _IdsIn(ids, "case_words.case_id" if words else "cases.id")
    return col(CaseWords.case_id).in_(ids) if words else col(Case.id).in_(ids)


def _words_only(f: CaseFilter) -> bool:
    """Only ``q`` (and the scope): the page can be found in ``case_words`` alone (u004)."""
    others = (f.status, f.category, f.department_code, f.grid_code, f.date_from, f.date_to, f.phone)
    return bool(f.q) and not any(others) and f.overdue is None and not f.priority and not f.source


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
    if _words_only(f) and match_ids is None:
        return select(Case).where(ids_condition(_walk_ids(f, scope), "sqlite"))  # EXPLAIN: the walk
    stmt = select(Case).where(*_conditions(f, scope, now, match_ids))
    return stmt.order_by(col(Case.created_at).desc(), col(Case.id).desc()).limit(f.limit).offset(f.offset)


def _walk_ids(f: CaseFilter, scope: ScopeLike | None, budget: int | None = None, dialect: str = "") -> Any:
    """Walk ``case_words`` newest first along (department_code,) created_at, case_id, keeping the
    rows that match, until the page is full; ``cases`` is not touched. ``budget``: look at the
    newest ``budget`` rows in scope only, each probed on its own (cheap per row, bounded)."""
    order = (col(CaseWords.case_id).desc(),)
    if budget is None:
        stmt = sa.select(col(CaseWords.case_id)).where(fulltext.row_matches(f.q or ""))
        stmt = stmt.where(*scope_conditions(scope, CaseWords))
        stmt = stmt.order_by(col(CaseWords.created_at).desc(), *order)
        return stmt.limit(f.limit).offset(f.offset)
    pg = dialect == "postgresql"  # the probe reads the stored tsvector there, the words on SQLite
    words = sa.literal_column(f"case_words.{fulltext.PG_COLUMN}") if pg else col(CaseWords.words)
    newest = sa.select(col(CaseWords.case_id), col(CaseWords.created_at), words)
    newest = newest.where(*scope_conditions(scope, CaseWords))
    top = newest.order_by(col(CaseWords.created_at).desc(), *order).limit(budget).subquery("case_words")
    stmt = sa.select(top.c.case_id).where(fulltext.row_matches(f.q or "", probe=True))
    stmt = stmt.order_by(top.c.created_at.desc(), top.c.case_id.desc())  # (alias: the probe's names)
    return stmt.limit(f.limit).offset(f.offset)


def _word_page(session: Session, f: CaseFilter, scope: ScopeLike | None, dialect: str) -> list[int]:
    """Ids of the page of a ``q``-only search, from the word index alone (scope and order on the
    copies u004 keeps in ``case_words``), by the cheapest of three plans:

    1. the newest :data:`WALK_BUDGET` cases in scope, each probed: enough for a common word
       (skipped for a case number: its matches are one case or one day, plan 2);
    2. else the matches (up to :data:`FEW_MATCHES`) from the full-text index, sorted here;
    3. else (many matches, few of them recent in this scope) the full walk, matched against the
       index's result set (built once) rather than probing row by row.
    """
    if f.offset + f.limit <= WALK_BUDGET and not fulltext.is_case_number(f.q or ""):
        page = [r[0] for r in session.execute(_walk_ids(f, scope, WALK_BUDGET, dialect))]
        if len(page) == f.limit:
            return page
    ids = fulltext.matching_ids(session, f.q or "", FEW_MATCHES)
    if ids is None:
        return [r[0] for r in session.execute(_walk_ids(f, scope))]
    keys = sa.select(col(CaseWords.case_id), col(CaseWords.created_at))
    keys = keys.where(ids_condition(ids, dialect, words=True), *scope_conditions(scope, CaseWords))
    newest = sorted(session.execute(keys).all(), key=lambda r: (r[1], r[0]), reverse=True)
    return [r[0] for r in newest[f.offset : f.offset + f.limit]]


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
        if _words_only(f):
            page = _word_page(session, f, scope, db.dialect)
            rows = {c.id: c for c in session.exec(select(Case).where(ids_condition(page, db.dialect)))}
            return [rows[i] for i in page if i in rows]
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
