"""代表建议 in the store (SQLite and PostgreSQL): create from cases, answer, rate, re-handle, lists."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from triage.store.errors import CaseStateError, ValidationError
from triage.store.models import AuditEvent
from triage.store.proposals import ProposalNotFoundError, ProposalScope

NOISE = "南门广场每天晚上广场舞音响声音太大，一直到十点多，楼上居民休息不好，希望管一管。"


@pytest.fixture
def cases(case_service):
    return [
        case_service.submit(NOISE + f"（第{i}次反映）", grid_code="G001", actor="gw").case_no
        for i in range(3)
    ]


def _create(case_service, cases, **kw):
    fields = dict(
        title="关于南门广场噪音扰民的建议",
        problem="广场舞噪音长期扰民，居民多次反映",
        suggestion="划定时段和音量上限，安装分贝提示屏",
        department_code="urban_mgmt",
        case_nos=cases,
        grid_code="G001",
    )
    return case_service.proposals.create("deputy1", **(fields | kw))


def test_create_links_cases_and_audits(case_service, cases, store_clock) -> None:
    p = _create(case_service, cases)
    assert p.status == "assigned" and p.answer_due == store_clock() + timedelta(days=90)
    found, linked = case_service.proposals.get(p.id)
    assert found.title == "关于南门广场噪音扰民的建议" and sorted(c.case_no for c in linked) == sorted(cases)
    with case_service.db.session() as s:
        events = [e for e in s.exec(select(AuditEvent)) if e.action == "proposal_create"]
    assert len(events) == 1 and events[0].after["proposal_id"] == p.id and events[0].case_id is None


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"title": " "}, "title"),
        ({"problem": ""}, "problem"),
        ({"suggestion": "建" * 5001}, "suggestion"),
        ({"department_code": "nope"}, "department_code"),
        ({"case_nos": ["2000010100001"]}, "case_nos"),
        ({"case_nos": [f"2026{i:09d}" for i in range(201)]}, "case_nos"),
    ],
)
def test_create_rejects_bad_values(case_service, cases, kw, field) -> None:
    with pytest.raises(ValidationError) as err:
        _create(case_service, cases, **kw)
    assert err.value.field == field


def test_answer_rate_and_rehandle(case_service, cases, store_clock) -> None:
    svc = case_service.proposals
    p = _create(case_service, cases)
    with pytest.raises(CaseStateError):
        svc.rate(p.id, "deputy1", "satisfied")  # nothing answered yet
    store_clock.advance(days=10)
    answered = svc.answer(p.id, "urban_user", "已设定晚九点后禁止外放音响")
    assert answered.status == "answered" and answered.answered_by == "urban_user"
    back = svc.rate(p.id, "deputy1", "unsatisfied", "晚上九点仍然很吵")
    assert back.status == "assigned" and back.rehandle_count == 1
    assert back.answer_due == store_clock() + timedelta(days=30)
    svc.answer(p.id, "urban_user", "已安装分贝提示屏并安排巡查")
    closed = svc.rate(p.id, "deputy1", "basically_satisfied")
    assert closed.status == "closed" and closed.rating == "basically_satisfied"
    with pytest.raises(CaseStateError):
        svc.answer(p.id, "urban_user", "再次答复")
    with pytest.raises(ValidationError) as err:
        svc.rate(p.id, "deputy1", "great")
    assert err.value.field == "rating"


def test_lists_by_scope_status_and_overdue(case_service, cases, store_clock) -> None:
    svc = case_service.proposals
    mine = _create(case_service, cases)
    other = _create(case_service, cases[:1], department_code="housing", title="另一条建议")
    assert [p.id for p in svc.list(ProposalScope(created_by="deputy1"))] == [other.id, mine.id]
    assert [p.id for p in svc.list(ProposalScope(department_code="housing"))] == [other.id]
    assert svc.list(overdue=True) == []
    store_clock.advance(days=91)
    assert {p.id for p in svc.list(overdue=True)} == {mine.id, other.id}
    svc.answer(mine.id, "u", "答复")
    assert [p.id for p in svc.list(status="answered")] == [mine.id]
    assert svc.count(ProposalScope(department_code="urban_mgmt")) == 1
    with pytest.raises(ProposalNotFoundError):
        svc.get(999_999)
