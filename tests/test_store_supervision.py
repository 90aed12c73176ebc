"""督办 and 吹哨报到 in the store (SQLite and PostgreSQL): values checked, levels walked up the
department chain, the report-in owed and acknowledged, the audit trail, the supervision states."""

from __future__ import annotations

from datetime import timedelta

import pytest

from triage.store.errors import CaseStateError, ValidationError
from triage.store.models import CaseStatus

MANHOLE = "幸福小区3栋楼下的井盖松动了，踩上去会翻，已经有老人差点摔倒，网格员处理不了，请尽快更换。"


@pytest.fixture
def grid_case(case_service):
    """A case dispatched to the grid station (网格 level)."""
    case = case_service.submit(MANHOLE, title="井盖松动", grid_code="G001", source="grid", actor="gw")
    return case_service.correct(case.case_no, "rev", department_code="grid", level="网格")


def test_supervise_records_requirement_due_and_audit(case_service, grid_case, store_clock) -> None:
    due = store_clock() + timedelta(days=3)
    sup = case_service.supervision.supervise(grid_case.case_no, "deputy1", "  三日内更换井盖并回复居民 ", due)
    assert sup.id is not None and sup.requirement == "三日内更换井盖并回复居民" and sup.due == due
    thread = case_service.supervision.thread(grid_case.case_no)
    assert [s.id for s in thread.supervisions] == [sup.id] and thread.escalations == []
    events = [e for e in case_service.audit_trail(grid_case.case_no) if e.action == "supervise"]
    assert len(events) == 1 and events[0].actor == "deputy1" and events[0].note == "三日内更换井盖并回复居民"
    assert case_service.supervision.supervised_case_nos([grid_case.case_no, "x"]) == {grid_case.case_no}


@pytest.mark.parametrize(
    ("requirement", "due_hours", "field"),
    [
        ("", 24, "requirement"),
        ("要求" * 1001, 24, "requirement"),
        ("要求", -1, "due"),
        ("要求", 24 * 400, "due"),
    ],
)
def test_supervise_rejects_bad_values(
    case_service, grid_case, store_clock, requirement, due_hours, field
) -> None:
    with pytest.raises(ValidationError) as err:
        case_service.supervision.supervise(
            grid_case.case_no, "deputy1", requirement, store_clock() + timedelta(hours=due_hours)
        )
    assert err.value.field == field


def test_supervision_states_follow_resolution(case_service, grid_case, store_clock) -> None:
    svc = case_service.supervision
    svc.supervise(grid_case.case_no, "deputy1", "尽快更换", store_clock() + timedelta(hours=5))
    assert [r.state for r in svc.supervisions()] == ["open"]
    assert svc.supervisions(state="overdue") == []
    store_clock.advance(hours=6)
    assert [r.state for r in svc.supervisions(state="overdue")] == ["overdue"]
    case_service.resolve(grid_case.case_no, "grid_dept", "已更换井盖")
    assert [r.state for r in svc.supervisions()] == ["overdue"]  # resolved after the due date: missed
    with pytest.raises(ValidationError) as err:
        svc.supervisions(state="late")
    assert err.value.field == "state"


def test_supervision_met_when_resolved_in_time(case_service, grid_case, store_clock) -> None:
    svc = case_service.supervision
    svc.supervise(grid_case.case_no, "deputy1", "尽快更换", store_clock() + timedelta(hours=5))
    store_clock.advance(hours=1)
    case_service.resolve(grid_case.case_no, "grid_dept", "已更换井盖")
    store_clock.advance(hours=10)
    rows = svc.supervisions(state="met")
    assert [(r.case.case_no, r.state) for r in rows] == [(grid_case.case_no, "met")]
    assert svc.supervisions(state="overdue") == []


def test_escalate_walks_one_level_up_and_owes_report_in(case_service, grid_case, store_clock) -> None:
    svc = case_service.supervision
    esc = svc.escalate(grid_case.case_no, "deputy1", "网格无法解决，需要社区协调")
    assert (esc.from_level, esc.to_level, esc.to_department_code) == ("网格", "社区", "community")
    assert esc.report_due == store_clock() + timedelta(hours=case_service.settings.report_in_hours)
    case = case_service.get(grid_case.case_no)
    assert (case.department_code, case.level, case.status) == ("community", "社区", CaseStatus.DISPATCHED)
    assert [e.case_no for e, _ in svc.open_whistles("community")] == [case.case_no]
    store_clock.advance(hours=25)
    assert [e.id for e, _ in svc.open_whistles("community", overdue_only=True)] == [esc.id]
    acked = svc.report_in(case.case_no, "community_user")
    assert acked.reported_in_by == "community_user" and acked.reported_in_at == store_clock()
    assert svc.open_whistles("community") == []
    with pytest.raises(CaseStateError):
        svc.report_in(case.case_no, "community_user")
    actions = [e.action for e in case_service.audit_trail(case.case_no)]
    assert actions[-2:] == ["escalate", "report_in"]
    report = [e for e in case_service.audit_trail(case.case_no) if e.action == "report_in"][0]
    assert report.after == {"escalation_id": esc.id, "late": True}


def test_escalate_to_level_and_department_and_chain(case_service, grid_case) -> None:
    svc = case_service.supervision
    first = svc.escalate(grid_case.case_no, "deputy1", "需要街道统筹", to_level="街道")
    assert (first.to_level, first.to_department_code) == ("街道", "street")
    second = svc.escalate(grid_case.case_no, "deputy1", "街道也无法解决", to_department="housing")
    assert second.from_department_code == "street" and second.to_department_code == "housing"
    thread = svc.thread(grid_case.case_no)
    assert [e.to_department_code for e in thread.escalations] == ["street", "housing"]
    assert thread.escalations[0].superseded_at is not None  # the street no longer owes a report-in
    assert thread.open_whistle is not None and thread.open_whistle.id == second.id
    assert svc.open_whistles("street") == []


def test_second_whistle_tells_the_new_department_afresh(case_service, grid_case, store_clock) -> None:
    """Regression: the (case, whistle) alert stayed as first raised — old time, already read."""
    from triage.store import notifications
    from triage.store.search import CaseScope

    def whistles(department: str, user: str) -> list[notifications.Notification]:
        scope = CaseScope(department_code=department)
        return [n for n in notifications.notifications(db, user, scope, None) if n.kind == "whistle"]

    def read_all(department: str, user: str) -> None:
        notifications.mark_read(db, user, CaseScope(department_code=department), None, store_clock())

    db = case_service.db

    svc = case_service.supervision
    svc.escalate(grid_case.case_no, "deputy1", "需要街道统筹", to_level="街道")
    first = whistles("street", "street_user")
    assert len(first) == 1 and first[0].read_at is None
    read_all("street", "street_user")
    read_all("housing", "housing_user")
    store_clock.advance(hours=2)
    svc.escalate(grid_case.case_no, "deputy1", "街道也无法解决", to_department="housing")
    now_theirs = whistles("housing", "housing_user")
    assert len(now_theirs) == 1 and now_theirs[0].read_at is None  # unread for the new department
    assert now_theirs[0].created_at == store_clock() and now_theirs[0].id == first[0].id
    assert whistles("street", "street_user") == []  # the case left the street office


@pytest.mark.parametrize(
    ("kwargs", "field", "code"),
    [
        ({"to_level": "省"}, "to_level", "unknown_level"),
        ({"to_level": "网格"}, "to_level", "not_upward"),
        ({"to_department": "nope"}, "to_department", "unknown_department"),
        ({"to_department": "grid"}, "to_department", "same_department"),
        ({"to_department": "property"}, "to_department", "same_department_level_ok"),
    ],
)
def test_escalate_rejects_bad_targets(case_service, grid_case, kwargs, field, code) -> None:
    if code == "same_department_level_ok":  # another department at the same level is allowed
        esc = case_service.supervision.escalate(grid_case.case_no, "gw", "物业负责", **kwargs)
        assert esc.to_department_code == "property"
        return
    with pytest.raises(ValidationError) as err:
        case_service.supervision.escalate(grid_case.case_no, "gw", "原因", **kwargs)
    assert (err.value.field, err.value.code) == (field, code)


def test_escalate_needs_reason_and_open_case(case_service, grid_case) -> None:
    with pytest.raises(ValidationError) as err:
        case_service.supervision.escalate(grid_case.case_no, "gw", "  ")
    assert err.value.field == "reason"
    case_service.resolve(grid_case.case_no, "grid_dept", "已处理")
    case_service.feedback(grid_case.case_no, "op", 5)
    with pytest.raises(CaseStateError):
        case_service.supervision.escalate(grid_case.case_no, "gw", "再次反映")
    with pytest.raises(CaseStateError):
        case_service.supervision.supervise(grid_case.case_no, "deputy1", "要求", grid_case.deadline)


def test_pending_case_escalated_skips_the_queue(case_service) -> None:
    case = case_service.submit(MANHOLE, grid_code="G001", source="grid", actor="gw")
    assert case.status == CaseStatus.PENDING_REVIEW
    esc = case_service.supervision.escalate(case.case_no, "deputy1", "紧急", to_department="street")
    after = case_service.get(case.case_no)
    assert after.status == CaseStatus.DISPATCHED and after.dispatched_by == "deputy1"
    assert esc.to_level == "街道" and after.deadline >= case.deadline
