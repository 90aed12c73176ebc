"""回访 calls in the store (SQLite and PostgreSQL): ratings close, re-handle or retry the case, the
last unanswered call closes it as 未回访, every call is a row and an audit event."""

from __future__ import annotations

import pytest

from triage.store.errors import CaseStateError, ValidationError
from triage.store.models import CaseStatus

LAMP = "建设路中段的路灯坏了一个多月，晚上一片漆黑，居民出行很不方便，请尽快修复。"


@pytest.fixture
def resolved(case_service):
    case = case_service.submit(LAMP, grid_code="G001", source="grid", actor="gw")
    case_service.correct(case.case_no, "rev", department_code="street")
    return case_service.resolve(case.case_no, "street_user", "已更换灯泡")


def test_satisfied_closes_with_the_score(case_service, resolved) -> None:
    call = case_service.followups.followup(resolved.case_no, "op", "satisfied", "很快就修好了")
    assert (call.outcome, call.attempt, call.department_code) == ("closed", 1, "street")
    case = case_service.get(resolved.case_no)
    assert case.status == CaseStatus.CLOSED and case.satisfaction == 4
    assert [f.satisfaction for f in case_service.feedbacks(resolved.case_no)] == [4]
    assert case_service.followups.tasks() == []


def test_unsatisfied_sends_it_back_for_rehandling(case_service, resolved) -> None:
    call = case_service.followups.followup(resolved.case_no, "op", "unsatisfied", "灯还是不亮")
    assert call.outcome == "rehandle"
    case = case_service.get(resolved.case_no)
    assert case.status == CaseStatus.IN_PROGRESS and case.resolved_at is None
    assert [e.action for e in case_service.audit_trail(resolved.case_no)][-1] == "rehandle"
    with pytest.raises(CaseStateError):  # not resolved any more: nothing to follow up
        case_service.followups.followup(resolved.case_no, "op", "satisfied")
    case_service.resolve(resolved.case_no, "street_user", "已更换整套灯具")
    again = case_service.followups.followup(resolved.case_no, "op", "basically_satisfied")
    assert again.outcome == "closed" and case_service.get(resolved.case_no).satisfaction == 3
    assert [c.outcome for c in case_service.followups.calls(resolved.case_no)] == ["rehandle", "closed"]


def test_unreachable_retries_then_closes_as_unreached(case_service, resolved, store_clock) -> None:
    limit = case_service.settings.followup_max_attempts
    for n in range(1, limit):
        call = case_service.followups.followup(resolved.case_no, "op", "unreachable")
        assert (call.outcome, call.attempt) == ("retry", n)
        [task] = case_service.followups.tasks()
        assert task.case.case_no == resolved.case_no and task.attempts == n
        store_clock.advance(hours=2)
    last = case_service.followups.followup(resolved.case_no, "op", "unreachable")
    assert (last.outcome, last.attempt) == ("unreached", limit)
    case = case_service.get(resolved.case_no)
    assert case.status == CaseStatus.CLOSED and case.satisfaction is None
    trail = case_service.audit_trail(resolved.case_no)
    assert trail[-1].action == "close_unreached" and f"{limit} 次" in (trail[-1].note or "")


def test_bad_rating_and_unresolved_case(case_service, resolved) -> None:
    with pytest.raises(ValidationError) as err:
        case_service.followups.followup(resolved.case_no, "op", "happy")
    assert err.value.field == "rating"
    with pytest.raises(ValidationError) as err:
        case_service.followups.followup(resolved.case_no, "op", "satisfied", "长" * 2001)
    assert err.value.field == "comment"
    pending = case_service.submit(LAMP + "（另一处）", actor="op")
    with pytest.raises(CaseStateError):
        case_service.followups.followup(pending.case_no, "op", "satisfied")


def test_tasks_follow_the_scope(case_service, resolved) -> None:
    from triage.store.search import CaseScope

    assert [t.case.case_no for t in case_service.followups.tasks(CaseScope(grids=("G001",)))] == [
        resolved.case_no
    ]
    assert case_service.followups.tasks(CaseScope(grids=("G002",))) == []
    assert (
        case_service.followups.tasks(CaseScope(department_code="street"))[0].case.case_no == resolved.case_no
    )
