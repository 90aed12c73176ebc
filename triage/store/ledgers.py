"""台账: the ledgers deputies and streets keep, as grouped queries over the cases and the deputies'
tables (so a page, its XLSX export and the API read the same numbers).

* 民意诉求台账 ``requests``: every matter of the place and period (the 问题清单 rows) and its total;
* 矛盾纠纷台账 ``disputes``: disputes with parties, sessions and outcome, counted by outcome;
* 履职台账 ``deputies``: per deputy — residents met (citizens of the matters they collected),
  matters collected, supervised, whistles, proposals, resolved, satisfaction rate;
* 部门 ``departments``: per department — received, resolved, on time (限时办结率), re-handled after an
  unsatisfied 回访 (重办率), satisfaction, supervisions missed, whistles reported in late;
* ``headline``: "化解矛盾纠纷 N 起，办结民生实事 M 件，群众满意度 P %" for a street or grid.

Every filter is a place (grid, community, street) and a local-date period on the record's own
creation time; satisfaction counts 基本满意 and better (score ≥ :data:`SATISFIED_MIN`). The case
figures of the departments ledger, the headline and the requests total come from the rollup
``case_ledger_counts`` (u012) when no place or grid is named: one row per day, department, status
and score instead of every case of the period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from triage.store.lists import ListFilter, problem_list
from triage.store.models import (
    Case,
    CaseLedgerCount,
    CaseStatus,
    Dispute,
    DisputeOutcome,
    Escalation,
    FollowUp,
    FollowUpOutcome,
    GridMember,
    Proposal,
    Role,
    Supervision,
    User,
)
from triage.store.models.rollups import NO_DEPARTMENT, NOT_RATED
from triage.store.numbers import local_day_start
from triage.store.search import ScopeLike, scope_conditions

__all__ = [
    "LEDGERS",
    "SATISFIED_MIN",
    "LedgerFilter",
    "department_ledger",
    "deputy_ledger",
    "disputes_mediated",
    "headline",
]

LEDGERS = ("requests", "disputes", "deputies", "departments")
SATISFIED_MIN = 3  # 基本满意 (3), 满意 (4), 非常满意 (5) count as satisfied
DONE = (CaseStatus.RESOLVED.value, CaseStatus.CLOSED.value)


@dataclass(slots=True)
class LedgerFilter:
    grid_code: str | None = None
    community: str | None = None
    street: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    scope: ScopeLike | None = None
    limit: int = 100
    offset: int = 0

    def period(self, column: Any, *, days: bool = False) -> list[sa.ColumnElement[bool]]:
        """The period on a time column, or on a local-date column (``days=True``: the rollups)."""
        out: list[sa.ColumnElement[bool]] = []
        if self.date_from:
            out.append(column >= (self.date_from if days else local_day_start(self.date_from)))
        if self.date_to:
            out.append(
                column <= self.date_to if days else column < local_day_start(self.date_to + timedelta(days=1))
            )
        return out

    def place(self, model: Any) -> list[sa.ColumnElement[bool]]:
        return [
            getattr(model, n) == getattr(self, n)
            for n in ("grid_code", "community", "street")
            if getattr(self, n)
        ]

    def cases(self) -> list[sa.ColumnElement[bool]]:
        """Conditions on ``Case``: scope, place and the period of receipt."""
        return [*scope_conditions(self.scope), *self.place(Case), *self.period(col(Case.created_at))]

    def as_list_filter(self) -> ListFilter:
        return ListFilter(
            grid_code=self.grid_code,
            community=self.community,
            street=self.street,
            date_from=self.date_from,
            date_to=self.date_to,
            limit=self.limit,
            offset=self.offset,
            scope=self.scope,
        )


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


# -- 民意诉求台账 ----------------------------------------------------------------------------------------
def requests_ledger(session: Session, f: LedgerFilter) -> dict[str, Any]:
    total = _figures(session, f, by_department=False, total_only=True)[0][0]
    return {"total": int(total or 0), "rows": problem_list(session, f.as_list_filter())}


# -- 矛盾纠纷台账 ----------------------------------------------------------------------------------------
def disputes_ledger(session: Session, f: LedgerFilter) -> dict[str, Any]:
    where = [*f.place(Dispute), *f.period(col(Dispute.created_at))]
    counts = dict(
        session.execute(
            sa.select(col(Dispute.outcome), sa.func.count()).where(*where).group_by(col(Dispute.outcome))
        ).all()
    )
    stmt = (
        sa.select(Dispute)
        .where(*where)
        .order_by(col(Dispute.created_at).desc(), col(Dispute.id).desc())
        .limit(f.limit)
        .offset(f.offset)
    )
    rows = [d.model_dump() for d in session.execute(stmt).scalars()]
    by_outcome = {o.value: int(counts.get(o.value, 0)) for o in DisputeOutcome}
    return {
        "total": sum(int(n) for n in counts.values()),
        "open": int(counts.get(None, 0)),
        **by_outcome,
        "rows": rows,
    }


# -- 履职台账 ---------------------------------------------------------------------------------------------
def deputy_ledger(session: Session, f: LedgerFilter) -> list[dict[str, Any]]:
    """One row per deputy (those of ``f.grid_code`` when set), their work in the period and place."""
    stmt = sa.select(col(User.username), col(User.display_name)).where(col(User.role) == Role.DEPUTY.value)
    if f.grid_code is not None:
        member = sa.select(col(GridMember.user_id)).where(col(GridMember.grid_code) == f.grid_code)
        stmt = stmt.where(col(User.id).in_(member))
    deputies = session.execute(stmt.order_by(col(User.username))).all()
    if not deputies:
        return []
    names = [u for u, _ in deputies]
    case_where = [*f.place(Case), *f.period(col(Case.created_at)), col(Case.submitted_by).in_(names)]
    collected = sa.select(
        col(Case.submitted_by),
        sa.func.count(),
        sa.func.sum(col(Case.duplicate_count) + 1),
        sa.func.sum(sa.case((col(Case.status).in_(DONE), 1), else_=0)),
        sa.func.sum(sa.case((col(Case.satisfaction).is_not(None), 1), else_=0)),
        sa.func.sum(sa.case((col(Case.satisfaction) >= SATISFIED_MIN, 1), else_=0)),
    ).where(*case_where)
    per = {row[0]: row[1:] for row in session.execute(collected.group_by(col(Case.submitted_by)))}
    supervised = _count_by(session, Supervision, Supervision.created_by, Supervision.created_at, names, f)
    whistles = _count_by(session, Escalation, Escalation.escalated_by, Escalation.escalated_at, names, f)
    proposals = _count_by(session, Proposal, Proposal.created_by, Proposal.created_at, names, f, place=False)
    out = []
    for username, display in deputies:
        n, residents, resolved, rated, satisfied = (int(v or 0) for v in per.get(username, (0, 0, 0, 0, 0)))
        out.append(
            {
                "username": username,
                "display_name": display or username,
                "residents_met": residents,
                "collected": n,
                "supervised": supervised.get(username, 0),
                "whistles": whistles.get(username, 0),
                "proposals": proposals.get(username, 0),
                "resolved": resolved,
                "rated": rated,
                "satisfied": satisfied,
                "satisfaction_rate": _rate(satisfied, rated),
            }
        )
    return out


def _count_by(
    session: Session,
    model: Any,
    who: Any,
    when: Any,
    names: list[str],
    f: LedgerFilter,
    *,
    place: bool = True,
) -> dict[str, int]:
    """Rows of ``model`` per actor in the period; by place through the case they hang off."""
    stmt = sa.select(col(who), sa.func.count()).where(col(who).in_(names), *f.period(col(when)))
    if place and f.place(Case):
        stmt = stmt.join(Case, col(Case.id) == col(model.case_id)).where(*f.place(Case))
    return {k: int(v) for k, v in session.execute(stmt.group_by(col(who)))}


# -- 部门 --------------------------------------------------------------------------------------------------
def _figures(
    session: Session, f: LedgerFilter, *, by_department: bool, total_only: bool = False
) -> list[Any]:
    """(department,) received, resolved, on time, rated, satisfied of the cases of ``f``
    (``total_only``: received alone — a plain count reads an index, the other figures need rows).

    From ``case_ledger_counts`` (kept by triggers, u012) unless ``f`` names a place or the caller's
    grids — the rollup has neither key; a place's or a grid's cases are few and counted directly.
    """
    from_rollup = not f.place(Case) and (f.scope is None or f.scope.grids is None)
    dept, figures, where = (_rollup_sums if from_rollup else _case_sums)(f, by_department)
    figures = figures[:1] if total_only else figures
    stmt = sa.select(*([dept] if by_department else []), *figures).where(*where)
    return list(session.execute(stmt.group_by(dept) if by_department else stmt))


def _rollup_sums(f: LedgerFilter, by_department: bool) -> tuple[Any, list[Any], list[Any]]:
    t = CaseLedgerCount
    dept, cases, done = col(t.department_code), col(t.cases), col(t.status).in_(DONE)
    figures = [
        sa.func.sum(cases),
        sa.func.sum(sa.case((done, cases), else_=0)),
        sa.func.sum(sa.case((done, col(t.on_time)), else_=0)),
        sa.func.sum(sa.case((col(t.satisfaction) != NOT_RATED, cases), else_=0)),
        sa.func.sum(sa.case((col(t.satisfaction) >= SATISFIED_MIN, cases), else_=0)),
    ]
    where = f.period(col(t.day), days=True)
    if f.scope is not None and f.scope.department_code is not None:
        where.append(dept == f.scope.department_code)
    if by_department:
        where.append(dept != NO_DEPARTMENT)
    return dept, figures, where


def _case_sums(f: LedgerFilter, by_department: bool) -> tuple[Any, list[Any], list[Any]]:
    dept, done, satisfaction = col(Case.department_code), col(Case.status).in_(DONE), col(Case.satisfaction)
    figures = [
        sa.func.count(),
        sa.func.sum(sa.case((done, 1), else_=0)),
        sa.func.sum(sa.case((sa.and_(done, col(Case.resolved_at) <= col(Case.deadline)), 1), else_=0)),
        sa.func.sum(sa.case((satisfaction.is_not(None), 1), else_=0)),
        sa.func.sum(sa.case((satisfaction >= SATISFIED_MIN, 1), else_=0)),
    ]
    # By department it walks the covering ix_cases_department_ledger in department order (u009).
    return dept, figures, [*f.cases(), *([dept.is_not(None)] if by_department else [])]


def department_ledger(session: Session, f: LedgerFilter, *, now: datetime) -> list[dict[str, Any]]:
    """One row per department with cases received in the period and place (``now``: what is late)."""
    dept = col(Case.department_code)
    resolved_at = col(Case.resolved_at)
    rows = {r[0]: [int(v or 0) for v in r[1:]] for r in _figures(session, f, by_department=True)}
    rehandled = _per_department(
        session,
        sa.select(col(FollowUp.department_code), sa.func.count())
        .join(Case, col(Case.id) == col(FollowUp.case_id))
        .where(col(FollowUp.outcome) == FollowUpOutcome.REHANDLE.value, *f.cases())
        .group_by(col(FollowUp.department_code)),
    )
    missed = _per_department(
        session,
        sa.select(dept, sa.func.count())
        .join(Supervision, col(Supervision.case_id) == col(Case.id))
        .where(
            *f.cases(),
            sa.or_(resolved_at.is_(None), resolved_at > col(Supervision.due)),
            col(Supervision.due) < sa.func.coalesce(resolved_at, now),
            # Implied (cases resolve in the past), but indexed: the planner starts from the few
            # supervisions due before now instead of scanning every case (7 ms at 100,000).
            col(Supervision.due) < now,
        )
        .group_by(dept),
    )
    late_whistles = _per_department(
        session,
        sa.select(col(Escalation.to_department_code), sa.func.count())
        .join(Case, col(Case.id) == col(Escalation.case_id))
        .where(
            *f.cases(),
            col(Escalation.superseded_at).is_(None),
            sa.or_(
                col(Escalation.reported_in_at) > col(Escalation.report_due),
                sa.and_(col(Escalation.reported_in_at).is_(None), col(Escalation.report_due) < now),
            ),
        )
        .group_by(col(Escalation.to_department_code)),
    )
    out = []
    for code in sorted(set(rows) | set(rehandled) | set(missed) | set(late_whistles)):
        received, resolved, on_time, rated, satisfied = rows.get(code, [0, 0, 0, 0, 0])
        out.append(
            {
                "department_code": code,
                "received": received,
                "resolved": resolved,
                "on_time": on_time,
                "on_time_rate": _rate(on_time, resolved),
                "rehandled": rehandled.get(code, 0),
                "rehandle_rate": _rate(rehandled.get(code, 0), resolved),
                "rated": rated,
                "satisfied": satisfied,
                "satisfaction_rate": _rate(satisfied, rated),
                "supervision_missed": missed.get(code, 0),
                "whistles_late": late_whistles.get(code, 0),
            }
        )
    return out


def _per_department(session: Session, stmt: Any) -> dict[str, int]:
    return {str(k): int(v) for k, v in session.execute(stmt) if k is not None}


# -- headline --------------------------------------------------------------------------------------------
def disputes_mediated(session: Session, f: LedgerFilter) -> int:
    """化解矛盾纠纷 N 起: disputes in the place and period closed as 调解成功."""
    where = [col(Dispute.outcome) == DisputeOutcome.RESOLVED.value, *f.place(Dispute)]
    if f.scope is not None and f.scope.grids is not None:  # a grid worker's or deputy's own grids
        where.append(col(Dispute.grid_code).in_(list(f.scope.grids)))
    return int(
        session.execute(
            sa.select(sa.func.count()).where(*where, *f.period(col(Dispute.created_at)))
        ).scalar_one()
    )


def headline(session: Session, f: LedgerFilter) -> dict[str, Any]:
    """化解矛盾纠纷 N 起 (mediated successfully), 办结民生实事 M 件 (cases resolved), 群众满意度 P %."""
    mediated = disputes_mediated(session, f)
    _, resolved, _, rated, satisfied = _figures(session, f, by_department=False)[0]
    rated, satisfied = int(rated or 0), int(satisfied or 0)
    return {
        "disputes_mediated": int(mediated),
        "cases_resolved": int(resolved or 0),
        "rated": rated,
        "satisfaction_rate": _rate(satisfied, rated),
    }
