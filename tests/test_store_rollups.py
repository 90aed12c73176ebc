"""``case_day_counts`` (u010) and ``case_ledger_counts`` (u012) stay equal to a count over the
cases, on SQLite and PostgreSQL, whatever writes the cases: the service's lifecycle steps, a raw
SQL update, a delete; and the dashboard's figures read from it equal the ones counted over the
cases."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import sqlalchemy as sa

from triage.config import LOCAL_TZ
from triage.store import stats
from triage.store.models import Case, CaseDayCount, CaseLedgerCount
from triage.store.models.rollups import NO_DEPARTMENT, NOT_RATED, UNCLASSIFIED

TEXTS = [
    "幸福小区3栋楼下的井盖松动了，踩上去会翻，请尽快更换。",
    "南门广场每天晚上广场舞音乐声音太大，影响休息。",
    "和平路路灯坏了一个多月，晚上走路很危险。",
    "学校门口早晚高峰车辆乱停，孩子上下学不安全。",
    "小区垃圾站好几天没人清运，气味很大。",
]


def _expected(db) -> Counter:
    """The rollup computed in Python from the case rows (independent of the triggers' SQL)."""
    out: Counter = Counter()
    with db.session() as session:
        for case in session.execute(sa.select(Case)).scalars():
            key = (
                case.created_at.astimezone(LOCAL_TZ).date(),
                case.department_code or case.suggested_department_code or NO_DEPARTMENT,
                case.category or case.suggested_category or UNCLASSIFIED,
                case.status,
            )
            out[(*key, "cases")] += 1
            if case.resolved_at is not None:
                out[(*key, "resolved")] += 1
                out[(*key, "seconds")] += round((case.resolved_at - case.created_at).total_seconds())
                out[(*key, "on_time")] += int(case.resolved_at <= case.deadline)
    return +out


def _expected_ledger(db) -> Counter:
    out: Counter = Counter()
    with db.session() as session:
        for case in session.execute(sa.select(Case)).scalars():
            key = (
                case.created_at.astimezone(LOCAL_TZ).date(),
                case.department_code or NO_DEPARTMENT,
                case.status,
                NOT_RATED if case.satisfaction is None else case.satisfaction,
            )
            out[(*key, "cases")] += 1
            out[(*key, "on_time")] += int(case.resolved_at is not None and case.resolved_at <= case.deadline)
    return +out


def _stored_ledger(db) -> Counter:
    out: Counter = Counter()
    with db.session() as session:
        for row in session.execute(sa.select(CaseLedgerCount)).scalars():
            key = (row.day, row.department_code, row.status, row.satisfaction)
            out[(*key, "cases")] += row.cases
            out[(*key, "on_time")] += row.on_time
            assert row.cases > 0, "emptied groups are removed"
    return +out


def _in_step(db) -> bool:
    """Both rollups equal their count over the cases."""
    return _stored(db) == _expected(db) and _stored_ledger(db) == _expected_ledger(db)


def _stored(db) -> Counter:
    out: Counter = Counter()
    with db.session() as session:
        for row in session.execute(sa.select(CaseDayCount)).scalars():
            key = (row.day, row.department_code, row.category, row.status)
            for name, value in (
                ("cases", row.cases),
                ("resolved", row.resolved),
                ("seconds", row.resolve_seconds),
                ("on_time", row.on_time),
            ):
                out[(*key, name)] += value
            assert row.cases > 0, "emptied groups are removed"
    return +out


def _lifecycle(case_service, store_clock) -> list[str]:
    numbers = []
    for i, text in enumerate(TEXTS * 2):
        case = case_service.submit(text, title=f"诉求{i}", grid_code="G001" if i % 2 else "G002", actor="op")
        numbers.append(case.case_no)
        store_clock.advance(hours=7)  # spread over local days (and across UTC midnight)
    a, b, c, d, e, f, g, h, *_ = numbers
    case_service.accept(a, "rev")
    case_service.correct(b, "rev", category="城乡建设", department_code="housing")
    for n in (a, b):
        case_service.start(n, "dept")
    store_clock.advance(hours=3)
    case_service.resolve(a, "dept", "已更换井盖")
    case_service.resolve(b, "dept", "已处理")
    case_service.feedback(a, "operator", 4, "满意")
    case_service.reopen(b, "operator", "问题仍在")
    case_service.merge(d, c, "rev")
    case_service.reject(e, "rev", "不属于受理范围")
    case_service.correct(f, "rev", category="环境保护", department_code="eco_env")
    case_service.return_case(f, "dept", "不属于本部门")
    return [g, h]


def test_rollup_follows_every_write(case_service, store_clock) -> None:
    assert _stored(case_service.db) == _stored_ledger(case_service.db) == Counter()
    g, h = _lifecycle(case_service, store_clock)
    db = case_service.db
    assert _in_step(db)
    with db.session(write=True) as session:  # a hand-made fix outside the service
        unclassified = {"category": None, "suggested_category": None}
        session.execute(sa.update(Case).where(Case.case_no == g).values(**unclassified))
        session.execute(
            sa.update(Case)
            .where(Case.case_no == h)
            .values(created_at=store_clock() - timedelta(days=40), department_code=None, satisfaction=2)
        )
    assert _in_step(db)
    table = Case.__table__
    with db.session(write=True) as session:  # an imported row (raw insert, no audit), then removed
        row = dict(session.execute(sa.select(table).where(table.c.case_no == g)).mappings().one())
        resolved_at = row["created_at"] + timedelta(hours=5)
        row.update(case_no="IMPORTED0001", status="closed", resolved_at=resolved_at)
        del row["id"]
        session.execute(sa.insert(table).values(**row))
    assert _in_step(db)
    with db.session(write=True) as session:
        session.execute(sa.delete(table).where(table.c.case_no == "IMPORTED0001"))
    assert _in_step(db)


def test_dashboard_figures_from_rollup_equal_a_count_over_cases(case_service, store_clock) -> None:
    _lifecycle(case_service, store_clock)
    db, now = case_service.db, store_clock()
    grids = stats.StatsScope(grids=("G001", "G002"))  # every case here: counted over the cases
    for days in (7, 30):
        from_rollup, counted = stats.period_summary(db, now, days), stats.period_summary(db, now, days, grids)
        assert from_rollup.volume == counted.volume and from_rollup.volume.total == len(TEXTS) * 2
        assert from_rollup.resolution == counted.resolution
        assert from_rollup.resolution.resolved == 1 and from_rollup.resolution.avg_hours is not None
    housing = stats.period_summary(db, now, 30, stats.StatsScope(department_code="housing"))
    assert housing.resolution.received == sum(
        1 for c in case_service.search() if (c.department_code or c.suggested_department_code) == "housing"
    )
