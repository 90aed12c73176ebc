"""Dashboard aggregates over the case database (统计看板).

Every figure is one grouped SQL query answered from covering indexes of the case table
(migration s004: the wide rows with texts and JSON are never read), so the dashboard stays
fast with 100,000 cases: daily volume by category, open vs overdue cases by
department, resolution rate with the average time to resolve, satisfaction, and the recent
open cases the hot-issue clustering runs on. Days are local calendar days (China Standard
Time); a :class:`StatsScope` restricts every figure to one department or to some grids.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from triage.config import LOCAL_TZ
from triage.dedup.hot_issues import HotIssue, HotRecord, cluster_hot_issues
from triage.store.db import Database
from triage.store.lifecycle import is_active
from triage.store.models import AuditEvent, Case, CaseDayCount, CaseStatus, Department
from triage.store.models.rollups import UNCLASSIFIED
from triage.store.numbers import local_day_start
from triage.text.intake import mask_pii

S = CaseStatus
DONE = (S.RESOLVED.value, S.CLOSED.value)
NOT_ACTIONABLE = (S.MERGED.value, S.REJECTED.value)
OTHER = "其他"
GROUPING_WORK_MEM = "32MB"  # PostgreSQL memory for the period summary's grouping

category_expr: sa.ColumnElement[str] = sa.func.coalesce(
    col(Case.category), col(Case.suggested_category), sa.literal_column(f"'{UNCLASSIFIED}'")
)
department_expr: sa.ColumnElement[str | None] = sa.func.coalesce(
    col(Case.department_code), col(Case.suggested_department_code)
)


@dataclass(frozen=True, slots=True)
class StatsScope:
    """Which cases count: all (default), one department's, or those of some grids."""

    department_code: str | None = None
    grids: tuple[str, ...] | None = None

    def apply(self, stmt: sa.Select) -> sa.Select:
        if self.department_code is not None:
            stmt = stmt.where(department_expr == self.department_code)
        if self.grids is not None:
            stmt = stmt.where(col(Case.grid_code).in_(self.grids) if self.grids else sa.false())
        return stmt


@dataclass(slots=True)
class DailyVolume:
    """Cases received per local day and category; small categories are summed into 其他."""

    days: list[date]
    series: dict[str, list[int]]

    @property
    def total(self) -> int:
        return sum(sum(v) for v in self.series.values())


@dataclass(slots=True)
class DepartmentLoad:
    code: str
    name: str
    open: int
    overdue: int


@dataclass(slots=True)
class Resolution:
    """Of the actionable cases received in the period (not merged or rejected)."""

    received: int
    actionable: int
    resolved: int
    rate: float | None  # resolved / actionable
    avg_hours: float | None  # mean time from receipt to 办结
    on_time_rate: float | None  # resolved by the deadline / resolved
    by_status: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class Satisfaction:
    counts: dict[int, int]  # score 1..5 → cases
    average: float | None

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def period(now: datetime, days: int) -> tuple[datetime, datetime, list[date]]:
    """The last ``days`` local days up to and including today: (start, end, days)."""
    today = now.astimezone(LOCAL_TZ).date()
    first = today - timedelta(days=days - 1)
    return (
        local_day_start(first),
        local_day_start(today + timedelta(days=1)),
        [first + timedelta(days=i) for i in range(days)],
    )


def _local_date(db: Database, column: sa.SQLColumnExpression[Any]) -> sa.ColumnElement[Any]:
    """The local calendar day of a UTC timestamp column, in the database's own dialect."""
    if db.is_postgres:
        return sa.cast(sa.func.timezone(sa.literal_column("'Asia/Shanghai'"), column), sa.Date)
    return sa.func.date(column, sa.literal_column("'+8 hours'"))  # SQLite stores naive UTC text


def _seconds_between(
    db: Database, start: sa.SQLColumnExpression[Any], end: sa.SQLColumnExpression[Any]
) -> sa.ColumnElement[Any]:
    """Whole seconds from ``start`` to ``end``, rounded as the rollup's triggers round them."""
    if db.is_postgres:  # date_part is double precision; extract() is numeric (slower to sum)
        return sa.func.round(sa.func.date_part("epoch", end - start))
    return sa.func.round((sa.func.julianday(end) - sa.func.julianday(start)) * 86400.0)


def _as_date(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


@dataclass(slots=True)
class PeriodSummary:
    volume: DailyVolume
    resolution: Resolution


def period_summary(
    db: Database, now: datetime, days: int = 30, scope: StatsScope | None = None, top: int = 6
) -> PeriodSummary:
    """Daily volume by category and the resolution figures of the cases received in the period.

    Read from ``case_day_counts`` (kept by triggers, u010) for all cases or a department's,
    grouped twice (per day and category, per status) so that few rows come back; from the cases
    themselves for grids (a grid's cases are few, the table has no grid key).
    """
    scope = scope or StatsScope()
    if scope.grids is None:
        by_day, by_status = _day_groups(db, now, days, scope)
    else:
        by_day, by_status = _split_groups(_case_groups(db, now, days, scope))
    by_day_cat: dict[tuple[date, str], int] = defaultdict(int)
    for d, cat, n in by_day:
        by_day_cat[(_as_date(d), cat)] += int(n)
    counts: dict[str, int] = defaultdict(int)
    n_done = on_time = 0
    hours = 0.0
    for status, n, n_d, seconds, in_time in by_status:
        counts[str(status)] += int(n)
        if status in DONE:
            n_done += int(n_d or 0)
            hours += float(seconds or 0) / 3600.0
            on_time += int(in_time or 0)
    received = sum(counts.values())
    actionable = received - sum(counts.get(s, 0) for s in NOT_ACTIONABLE)
    resolved = sum(counts.get(s, 0) for s in DONE)
    res = Resolution(
        received=received,
        actionable=actionable,
        resolved=resolved,
        rate=resolved / actionable if actionable else None,
        avg_hours=hours / n_done if n_done else None,
        on_time_rate=on_time / n_done if n_done else None,
        by_status=dict(counts),
    )
    return PeriodSummary(_volume(period(now, days)[2], by_day_cat, top), res)


def _day_groups(db: Database, now: datetime, days: int, scope: StatsScope) -> tuple[list[Any], list[Any]]:
    """(day, category, cases) and (status, cases, resolved, seconds to resolve, on time) from the rollup."""
    day_list = period(now, days)[2]
    t = CaseDayCount
    where = [col(t.day) >= day_list[0], col(t.day) <= day_list[-1]]
    if scope.department_code is not None:
        where.append(col(t.department_code) == scope.department_code)
    sums = (sa.func.sum(col(c)) for c in (t.resolved, t.resolve_seconds, t.on_time))
    per_day = sa.select(col(t.day), col(t.category), sa.func.sum(col(t.cases))).where(*where)
    per_status = sa.select(col(t.status), sa.func.sum(col(t.cases)), *sums).where(*where)
    with db.session() as session:  # Core reads on the connection: no ORM row processing
        conn = session.connection()
        by_day = list(conn.execute(per_day.group_by(col(t.day), col(t.category))))
        by_status = list(conn.execute(per_status.group_by(col(t.status))))
    return by_day, by_status


def _split_groups(rows: list[Any]) -> tuple[list[Any], list[Any]]:
    """(day, category, status, …) groups of the cases as the rollup's two groupings."""
    by_status: dict[str, list[int]] = {}
    for _, _, status, *figures in rows:
        into = by_status.setdefault(status, [0, 0, 0, 0])
        for i, value in enumerate(figures):
            into[i] += int(value or 0)
    return [(d, cat, n) for d, cat, _, n, *_ in rows], [(s, *f) for s, f in by_status.items()]


def _case_groups(db: Database, now: datetime, days: int, scope: StatsScope) -> list[Any]:
    """The same groups counted over the cases of the scope (grids)."""
    start, end, _ = period(now, days)
    created, resolved_at = col(Case.created_at), col(Case.resolved_at)
    day = _local_date(db, created).label("day")
    # Status is a group key, so "resolved or closed" is applied by the caller per group, not per row.
    stmt = scope.apply(
        sa.select(
            day,
            category_expr.label("category"),
            col(Case.status),
            sa.func.count(),
            sa.func.count(resolved_at),
            sa.func.sum(_seconds_between(db, created, resolved_at)),
            sa.func.count(sa.case((resolved_at <= col(Case.deadline), 1))),
        )
        .where(created >= start, created < end)
        .group_by(day, category_expr, col(Case.status))
    )
    with db.session() as session:
        if db.is_postgres:
            # The planner cannot estimate how few (day, category, status) groups there are and
            # would sort every case of the window (on disk); with room for a hash table it
            # groups them in one pass instead. Only for this transaction.
            session.execute(sa.text(f"SET LOCAL work_mem = '{GROUPING_WORK_MEM}'"))
        return list(session.execute(stmt))


def _volume(day_list: list[date], counts: dict[tuple[date, str], int], top: int) -> DailyVolume:
    totals: dict[str, int] = defaultdict(int)
    for (_, cat), n in counts.items():
        totals[cat] += n
    ranked = sorted(totals, key=lambda c: (-totals[c], c))
    kept = ranked if len(ranked) <= top + 1 else ranked[:top]
    index = {d: i for i, d in enumerate(day_list)}
    series = {c: [0] * len(day_list) for c in kept}
    other = [0] * len(day_list)
    for (d, cat), n in counts.items():
        if d in index:
            series.get(cat, other)[index[d]] += n
    if any(other):
        merged = series.get(OTHER, [0] * len(day_list))
        series[OTHER] = [a + b for a, b in zip(merged, other, strict=True)]
    return DailyVolume(day_list, series)


def daily_volume(
    db: Database, now: datetime, days: int = 30, scope: StatsScope | None = None, top: int = 6
) -> DailyVolume:
    """Cases received per day for the ``top`` categories of the period, the rest as 其他."""
    return period_summary(db, now, days, scope, top).volume


def resolution(db: Database, now: datetime, days: int = 30, scope: StatsScope | None = None) -> Resolution:
    """Resolution rate, mean hours to resolve and on-time share for cases received in the period."""
    return period_summary(db, now, days, scope).resolution


def data_version(db: Database) -> int:
    """Id of the newest audit event: every change to a case writes one, so cached figures keyed
    by this number are never stale (and reading it is one primary-key lookup)."""
    with db.session() as session:
        return int(session.execute(sa.select(sa.func.max(col(AuditEvent.id)))).scalar() or 0)


def department_load(db: Database, now: datetime, scope: StatsScope | None = None) -> list[DepartmentLoad]:
    """Open (pending, dispatched, in progress) and overdue cases per department, busiest first."""
    late = sa.func.sum(sa.case((col(Case.deadline) < now, 1), else_=0))
    stmt = (scope or StatsScope()).apply(
        sa.select(department_expr.label("code"), sa.func.count().label("open"), late.label("overdue"))
        .where(is_active())
        .group_by(department_expr)
    )
    with db.session() as session:
        rows = session.execute(stmt).all()
        names: dict[str | None, str] = dict(
            session.execute(sa.select(col(Department.code), col(Department.name))).all()
        )
    out = [
        DepartmentLoad(code or "", names.get(code, code or "未指定"), int(n), int(late or 0))
        for code, n, late in rows
    ]
    return sorted(out, key=lambda d: (-d.overdue, -d.open, d.code))


def satisfaction(
    db: Database, now: datetime, days: int = 30, scope: StatsScope | None = None
) -> Satisfaction:
    """回访 scores of the cases closed in the period (the latest score of each case)."""
    start, end, _ = period(now, days)
    stmt = (scope or StatsScope()).apply(
        sa.select(col(Case.satisfaction), sa.func.count())
        .where(col(Case.closed_at) >= start, col(Case.closed_at) < end, col(Case.satisfaction).is_not(None))
        .group_by(col(Case.satisfaction))
    )
    with db.session() as session:
        found = {int(s): int(n) for s, n in session.execute(stmt)}
    counts = {score: found.get(score, 0) for score in range(1, 6)}
    total = sum(counts.values())
    average = sum(s * n for s, n in counts.items()) / total if total else None
    return Satisfaction(counts, average)


def hot_issue_records(
    db: Database, now: datetime, days: int = 30, scope: StatsScope | None = None, limit: int = 3000
) -> list[HotRecord]:
    """The newest open cases of the period, as input for :func:`triage.dedup.hot_issues.cluster_hot_issues`.

    Merged duplicates are left out: their parent counts them in ``duplicate_count``, passed as
    the record's ``likes`` (citizens beyond the first), so an issue's citizens are ``size + likes``.
    """
    start, _, _ = period(now, days)
    open_statuses = [s.value for s in (S.PENDING_REVIEW, S.DISPATCHED, S.IN_PROGRESS, S.RESOLVED)]
    stmt = (scope or StatsScope()).apply(
        sa.select(
            col(Case.case_no),
            col(Case.title),
            col(Case.text_masked),
            col(Case.created_at),
            category_expr,
            col(Case.duplicate_count),
        )
        .where(col(Case.created_at) >= start, col(Case.status).in_(open_statuses))
        .order_by(col(Case.created_at).desc(), col(Case.id).desc())
        .limit(limit)
    )
    with db.session() as session:
        rows = session.execute(stmt).all()
    return [
        HotRecord(no, text, mask_pii(title) if title else None, at, likes=int(merged or 0), category=cat)
        for no, title, text, at, cat, merged in reversed(rows)
    ]


def clustered_hot_issues(
    url: str, now: datetime, days: int, scope: StatsScope, limit: int, **cluster: Any
) -> list[HotIssue]:
    """Read the period's open cases from the database at ``url`` and cluster them into hot issues.

    Takes a URL, not a :class:`Database`, so that a separate process can run it: the clustering
    is seconds of Python (a jieba cut per case) that must not hold a web worker's GIL.
    ``cluster``: keyword arguments of :func:`cluster_hot_issues`.
    """
    db = Database(url)
    try:
        records = hot_issue_records(db, now, days, scope, limit=limit)
    finally:
        db.dispose()
    return cluster_hot_issues(records, now=now, **cluster)
