"""Case lifecycle: legal paths, every illegal transition, deadlines, overdue (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from triage.errors import TriageError
from triage.store.errors import IllegalTransitionError, ValidationError
from triage.store.lifecycle import TRANSITIONS
from triage.store.models import CaseStatus

S = CaseStatus
STAIRWELL = "阳光小区5号楼楼道里堆满了纸箱和旧家具，消防通道被堵死，万一着火人都跑不出去，请尽快清理。"
STREETLIGHT = "东风路和建设路交叉口的路灯坏了半个多月，晚上一片漆黑，老人孩子走路很不安全。"
GAS = "幸福里社区3栋2单元楼道里有很浓的燃气泄漏味道，已经闻了半个小时，担心发生爆炸，请马上派人来！"


def _to_status(svc, status: str, text: str = STREETLIGHT):
    """A fresh case brought to ``status`` through legal steps."""
    case = svc.submit(text, source="hotline")
    no = case.case_no
    if status == S.PENDING_REVIEW:
        return case
    if status == S.MERGED:
        parent = svc.submit(STAIRWELL)
        return svc.merge(no, parent.case_no, "rev")
    if status == S.REJECTED:
        return svc.reject(no, "rev", "与本辖区无关")
    svc.accept(no, "rev", requirement="三个工作日内答复")
    if status == S.DISPATCHED:
        return svc.get(no)
    if status == S.IN_PROGRESS:
        return svc.start(no, "dept")
    svc.resolve(no, "dept", "已更换灯泡，恢复照明")
    if status == S.RESOLVED:
        return svc.get(no)
    return svc.feedback(no, "operator", 5, "很满意")


def test_main_path_to_closed(case_service) -> None:
    case = case_service.submit(
        STREETLIGHT, title="路灯不亮", source="hotline", reporter_contact="13912345678"
    )
    assert case.status == S.PENDING_REVIEW and case.version == 1
    assert len(case.case_no) == 13 and case.case_no.isdigit()
    assert case.suggested_category and case.suggested_department_code and case.model_version
    assert case.category is None  # no human decision yet
    assert case.deadline == case.created_at + timedelta(hours=case.deadline_hours)

    case = case_service.accept(case.case_no, "reviewer1", requirement="三日内修复并回复市民")
    assert case.status == S.DISPATCHED and case.category == case.suggested_category
    assert case.requirement == "三日内修复并回复市民" and case.dispatched_by == "reviewer1"
    case = case_service.start(case.case_no, "dept1")
    assert case.status == S.IN_PROGRESS and case.started_at is not None
    case = case_service.resolve(case.case_no, "dept1", "已更换路灯")
    assert case.status == S.RESOLVED and case.result == "已更换路灯"
    case = case_service.feedback(case.case_no, "operator", 4, "修得挺快")
    assert case.status == S.CLOSED and case.satisfaction == 4 and case.closed_at is not None
    assert [f.satisfaction for f in case_service.feedbacks(case.case_no)] == [4]


def test_return_sends_case_back_to_review(case_service) -> None:
    case = _to_status(case_service, S.IN_PROGRESS)
    back = case_service.return_case(case.case_no, "dept1", "不属于本部门职责")
    assert back.status == S.PENDING_REVIEW and back.return_reason == "不属于本部门职责"
    assert back.returned_count == 1 and back.dispatched_at is None
    assert back.case_no in [c.case_no for c in case_service.queue()]
    assert case_service.accept(back.case_no, "reviewer2").status == S.DISPATCHED


def test_reopen_after_unsatisfied(case_service) -> None:
    case = _to_status(case_service, S.RESOLVED)
    assert case_service.reopen(case.case_no, "operator", "市民反映问题仍未解决").status == S.IN_PROGRESS


@pytest.mark.parametrize("status", [s.value for s in S])
def test_illegal_transitions_raise_typed_error(case_service, status: str) -> None:
    case = _to_status(case_service, status)
    for target in (t.value for t in S):
        if target in TRANSITIONS[status]:
            continue
        with pytest.raises(IllegalTransitionError) as info:
            case_service.transition(case.case_no, target, "someone", reason="x", result="x", satisfaction=3)
        err = info.value
        assert isinstance(err, TriageError) and err.code == "illegal_transition"
        assert err.from_status == status and err.to_status == target
        assert err.allowed == sorted(TRANSITIONS[status])
        assert status in err.message and target in err.message
    assert case_service.get(case.case_no).version == case.version  # nothing changed


def test_specific_operations_check_the_lifecycle(case_service) -> None:
    pending = _to_status(case_service, S.PENDING_REVIEW)
    with pytest.raises(IllegalTransitionError):
        case_service.resolve(pending.case_no, "dept", "办好了")
    with pytest.raises(IllegalTransitionError):
        case_service.feedback(pending.case_no, "op", 5)
    closed = _to_status(case_service, S.CLOSED, STAIRWELL)
    with pytest.raises(IllegalTransitionError):
        case_service.accept(closed.case_no, "rev")


def test_required_reasons_and_values(case_service) -> None:
    case = _to_status(case_service, S.PENDING_REVIEW)
    with pytest.raises(ValidationError) as info:
        case_service.reject(case.case_no, "rev", "  ")
    assert info.value.code == "reason_required" and info.value.field == "reason"
    dispatched = case_service.accept(case.case_no, "rev")
    with pytest.raises(ValidationError):
        case_service.return_case(dispatched.case_no, "dept", "")
    case_service.resolve(dispatched.case_no, "dept", "已处理")
    for bad in (0, 6, "5", True):
        with pytest.raises(ValidationError) as info:
            case_service.feedback(dispatched.case_no, "op", bad)
        assert info.value.field == "satisfaction"


def test_urgent_matters_get_priority_and_short_deadline(case_service) -> None:
    urgent = case_service.submit(GAS, source="hotline")
    normal = case_service.submit(STREETLIGHT, source="hotline")
    assert urgent.priority == "urgent" and urgent.priority_rank < normal.priority_rank
    assert urgent.deadline_hours < normal.deadline_hours
    assert case_service.queue()[0].case_no == urgent.case_no


def test_deadline_follows_the_routing_configuration(case_service, store_triager) -> None:
    case = case_service.submit(STREETLIGHT)
    assert case.deadline_hours == store_triager.triage(STREETLIGHT).deadline_hours
    catalog = case_service.catalog
    other = next(c for c in catalog.category_names() if c != case.suggested_category)
    fixed = case_service.correct(case.case_no, "rev", category=other, priority="high")
    hours = catalog.deadline_hours(other, None, "high")
    assert fixed.deadline_hours == hours and fixed.deadline == case.created_at + timedelta(hours=hours)
    assert fixed.priority == "high" and fixed.corrected


def test_overdue_lists_open_cases_past_deadline(case_service, store_clock) -> None:
    urgent = case_service.submit(GAS)
    slow = case_service.submit(STREETLIGHT)
    done = _to_status(case_service, S.RESOLVED, STAIRWELL)
    assert case_service.overdue() == []
    store_clock.advance(hours=urgent.deadline_hours + 1)
    overdue = [c.case_no for c in case_service.overdue()]
    assert urgent.case_no in overdue and slow.case_no not in overdue and done.case_no not in overdue
    store_clock.advance(days=60)
    overdue = [c.case_no for c in case_service.overdue()]
    assert overdue[0] == urgent.case_no and slow.case_no in overdue and done.case_no not in overdue
    assert case_service.overdue_count() == len(overdue)


def test_generic_transition_picks_the_operation(case_service) -> None:
    a = case_service.submit(STREETLIGHT)
    extra = {"reason": "ignored", "version": 1}
    done = case_service.transition(a.case_no, "dispatched", "rev", requirement="尽快", **extra)
    assert done.status == S.DISPATCHED and not done.corrected and done.requirement == "尽快"
    b = case_service.submit(STAIRWELL)
    other = next(c for c in case_service.catalog.category_names() if c != b.suggested_category)
    fixed = case_service.transition(b.case_no, "dispatched", "rev", category=other, result="ignored")
    assert fixed.category == other and fixed.corrected
    case_service.transition(b.case_no, "in_progress", "dept")
    case_service.transition(b.case_no, "resolved", "dept", result="已清理")
    case_service.transition(b.case_no, "in_progress", "op", reason="市民说还没清完")  # reopen
    case_service.transition(b.case_no, "resolved", "dept", result="已全部清理")
    closed = case_service.transition(b.case_no, "closed", "op", satisfaction=5, comment="好")
    assert closed.status == S.CLOSED and closed.satisfaction == 5
    with pytest.raises(ValidationError) as info:
        case_service.transition(a.case_no, "finished", "op")
    assert info.value.code == "unknown_status"
