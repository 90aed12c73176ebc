"""Deadlines: the maths, the urgency order, the counts, the scanner and the notification list
(SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import col

from triage.store.deadlines import (
    DeadlineState,
    countdown,
    deadline_counts,
    duration_text,
    state_of,
    urgent_cases,
    warn_at,
)
from triage.store.models import Case
from triage.store.models.notifications import DeadlineAlert
from triage.store.notifications import mark_read, notifications, scan, unread_count
from triage.store.search import CaseScope

T0 = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
STREETLIGHT = "东风路和建设路交叉口的路灯坏了半个多月，晚上一片漆黑，老人孩子走路很不安全。"


# -- maths ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("minutes", "text"),
    [(0, "0分钟"), (40, "40分钟"), (60, "1小时"), (192, "3小时12分"), (1440, "1天"), (1620, "1天3小时")],
)
def test_duration_text(minutes: int, text: str) -> None:
    assert duration_text(minutes) == text


def test_countdown_words_and_states() -> None:
    deadline = T0 + timedelta(hours=4)
    assert countdown("dispatched", T0, deadline, T0 + timedelta(minutes=48)).text == "剩余 3小时12分"
    late = countdown("in_progress", T0, deadline, deadline + timedelta(minutes=40, seconds=30))
    assert late.text == "已超时 40分钟" and late.state == DeadlineState.OVERDUE and late.minutes_left == -40
    just_late = countdown("in_progress", T0, deadline, deadline + timedelta(seconds=5))
    assert just_late.text == "已超时 1分钟"  # never "已超时 0分钟"
    assert countdown("resolved", T0, deadline, deadline + timedelta(hours=1)).text == ""


def test_warning_point_is_the_configured_share() -> None:
    deadline = T0 + timedelta(hours=4)
    assert warn_at(T0, deadline) == T0 + timedelta(hours=3)
    assert warn_at(T0, deadline, 0.5) == T0 + timedelta(hours=2)
    assert state_of("dispatched", T0, deadline, T0 + timedelta(hours=2, minutes=59)) == DeadlineState.OK
    assert state_of("dispatched", T0, deadline, T0 + timedelta(hours=3)) == DeadlineState.WARNING
    assert state_of("dispatched", T0, deadline, deadline) == DeadlineState.WARNING  # late only after it
    assert state_of("pending_review", T0, deadline, deadline + timedelta(seconds=1)) == DeadlineState.OVERDUE
    assert state_of("closed", T0, deadline, deadline + timedelta(days=1)) == DeadlineState.NONE


# -- store ---------------------------------------------------------------------------------------
def _case(
    svc, *, hours: float, age: float, status: str = "dispatched", dept: str = "d1", priority: str = "normal"
):
    """A case created ``age`` hours before the clock with ``hours`` allowed, forced into ``status``."""
    case = svc.submit(STREETLIGHT, source="hotline")
    now = svc.clock()
    created = now - timedelta(hours=age)
    rank = {"urgent": 0, "high": 1, "normal": 2}[priority]
    values = {
        "created_at": created,
        "deadline": created + timedelta(hours=hours),
        "deadline_hours": int(hours),
        "status": status,
        "department_code": dept,
        "priority": priority,
        "priority_rank": rank,
    }
    with svc.db.session(write=True) as session:
        session.execute(sa.update(Case).where(col(Case.id) == case.id).values(**values))
    return svc.get(case.case_no)


def test_urgent_order_and_counts(case_service) -> None:
    svc = case_service
    ok = _case(svc, hours=168, age=1)  # 167 h left
    manhole = _case(svc, hours=24, age=20, priority="urgent")  # 4 h left, warned
    gas = _case(svc, hours=1, age=0.5, priority="urgent")  # 30 min left, warned at 45 min? no: ok
    late = _case(svc, hours=2, age=3)  # 1 h overdue
    later = _case(svc, hours=1, age=5)  # 4 h overdue
    _case(svc, hours=1, age=5, dept="d2")  # another department's
    _case(svc, hours=1, age=5, status="resolved")  # no clock runs
    order = [c.case_no for c in urgent_cases(svc.db, CaseScope(department_code="d1"), ["dispatched"])]
    assert order == [later.case_no, late.case_no, gas.case_no, manhole.case_no, ok.case_no]

    now = svc.clock()
    for c in (ok, manhole, gas, late, later):  # the SQL agrees with the Python rule
        assert (c.case_no, state_of(c.status, c.created_at, c.deadline, now)) in {
            (ok.case_no, DeadlineState.OK),
            (manhole.case_no, DeadlineState.WARNING),
            (gas.case_no, DeadlineState.OK),
            (late.case_no, DeadlineState.OVERDUE),
            (later.case_no, DeadlineState.OVERDUE),
        }
    counts = deadline_counts(svc.db, CaseScope(department_code="d1"), None, now)
    assert (counts.warning, counts.overdue, counts.total) == (1, 2, 3)
    assert deadline_counts(svc.db, None, None, now).overdue == 3  # every department, not the resolved one
    assert deadline_counts(svc.db, None, ["pending_review"], now).total == 0
    # the gas case passes 75 % of its hour (a minute past the boundary: SQLite's julianday() arithmetic
    # is floating point, so exactly 45 minutes may compare either way)
    svc.clock.advance(minutes=16)
    assert deadline_counts(svc.db, CaseScope(department_code="d1"), None, svc.clock()).warning == 2


def test_ties_on_the_deadline_go_to_the_higher_priority(case_service) -> None:
    svc = case_service
    normal = _case(svc, hours=4, age=1)
    urgent = _case(svc, hours=4, age=1, priority="urgent")
    order = [c.case_no for c in urgent_cases(svc.db, None, ["dispatched"])]
    assert order == [urgent.case_no, normal.case_no]


def test_scan_is_idempotent_per_case_and_kind(case_service) -> None:
    svc = case_service
    warned = _case(svc, hours=4, age=3.5)
    late = _case(svc, hours=1, age=2)
    _case(svc, hours=10, age=1)
    first = scan(svc.db, svc.clock())
    assert sorted((a.case_no, a.kind) for a in first) == sorted(
        [(warned.case_no, "warning"), (late.case_no, "overdue")]
    )  # already overdue: no warning about a passed deadline
    assert scan(svc.db, svc.clock()) == []
    svc.clock.advance(hours=1)
    second = scan(svc.db, svc.clock())
    assert [(a.case_no, a.kind) for a in second] == [(warned.case_no, "overdue")]
    with svc.db.session() as session:
        rows = session.execute(sa.select(col(DeadlineAlert.case_no), col(DeadlineAlert.kind))).all()
    assert len(rows) == len(set(rows)) == 3


def test_concurrent_scanners_write_each_alert_once(case_service) -> None:
    svc = case_service
    for _ in range(6):
        _case(svc, hours=1, age=2)
    now = svc.clock()
    results: list[int] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(len(scan(svc.db, now)))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # SQLite may refuse a writer while another holds the lock; what was written is never doubled
    assert sum(results) <= 6
    rest = len(scan(svc.db, now))
    assert sum(results) + rest == 6
    with svc.db.session() as session:
        assert session.execute(sa.select(sa.func.count()).select_from(DeadlineAlert)).scalar_one() == 6


def test_notification_list_follows_scope_and_role_statuses(case_service) -> None:
    svc = case_service
    mine = _case(svc, hours=1, age=2, dept="d1")
    theirs = _case(svc, hours=1, age=2, dept="d2")
    queue = _case(svc, hours=1, age=2, status="pending_review", dept="d1")
    scan(svc.db, svc.clock())
    dept_scope, dept_statuses = CaseScope(department_code="d1"), ["dispatched", "in_progress"]
    listed = notifications(svc.db, "dept1", dept_scope, dept_statuses)
    assert [n.case_no for n in listed] == [mine.case_no]
    assert listed[0].kind == "overdue" and listed[0].read_at is None
    reviewer = notifications(svc.db, "rev1", None, ["pending_review"])
    assert [n.case_no for n in reviewer] == [queue.case_no]
    assert {n.case_no for n in notifications(svc.db, "admin", None, None)} == {
        mine.case_no,
        theirs.case_no,
        queue.case_no,
    }
    assert notifications(svc.db, "nobody", dept_scope, []) == []

    assert unread_count(svc.db, "dept1", dept_scope, dept_statuses) == 1
    other_id = next(n.id for n in notifications(svc.db, "admin", None, None) if n.case_no == theirs.case_no)
    assert mark_read(svc.db, "dept1", dept_scope, dept_statuses, svc.clock(), [other_id]) == 0  # not theirs
    assert mark_read(svc.db, "dept1", dept_scope, dept_statuses, svc.clock(), [listed[0].id]) == 1
    assert mark_read(svc.db, "dept1", dept_scope, dept_statuses, svc.clock()) == 0  # already read
    assert unread_count(svc.db, "dept1", dept_scope, dept_statuses) == 0
    assert notifications(svc.db, "dept1", dept_scope, dept_statuses)[0].read_at is not None
    assert unread_count(svc.db, "admin", None, None) == 3  # reading is per user
    assert mark_read(svc.db, "admin", None, None, svc.clock()) == 3
    assert notifications(svc.db, "admin", None, None, unread_only=True) == []


def test_a_scan_that_wrote_a_backlog_refreshes_postgresql_statistics(case_service, monkeypatch) -> None:
    """Regression: with the empty table's statistics PostgreSQL re-read every alert for every
    active case on each later scan (2.6 s per tick at 10,000 alerts, beside the pages)."""
    from triage.store import notifications as alerts

    svc = case_service
    for _ in range(3):
        _case(svc, hours=1, age=2)
    monkeypatch.setattr(alerts, "SCAN_BATCH", 2)

    def last_analyze():
        with svc.db.engine.connect() as conn:
            return conn.exec_driver_sql(
                "SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'deadline_alerts'"
            ).scalar()

    before = last_analyze() if svc.db.is_postgres else None
    assert len(scan(svc.db, svc.clock())) == 3
    if svc.db.is_postgres:
        after = last_analyze()
        assert after is not None and (before is None or after > before)
