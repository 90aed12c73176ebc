"""Audit trail: every change has exactly one event, the events replay to the current state, and
the log cannot be edited (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DatabaseError

from triage.store.errors import IllegalTransitionError
from triage.store.lifecycle import snapshot
from triage.store.models import AuditEvent

TEXTS = [
    "河西街道菜市场门口的井盖松动了，踩上去会翻，昨天有老人差点掉下去，请赶快修好。",
    "幸福里社区有人在楼道里给电动车充电，插线板从窗户拉出来，太危险了，物业不管。",
    "锦绣花园小区物业费年年涨，服务却越来越差，电梯坏了一个月都没人修。",
    "锦绣花园小区物业费每年都涨，服务越来越差，电梯坏了一个多月了都没有人来修。",
    "东风路上的共享单车乱停乱放，把盲道都占满了，盲人根本没法走。",
]


def _exercise(svc) -> list[str]:
    """Drive cases through every kind of change; returns their numbers."""
    c = [svc.submit(t, source="grid") for t in TEXTS]
    svc.claim(c[0].case_no, "rev1")
    svc.claim(c[0].case_no, "rev1")  # renew
    svc.accept(c[0].case_no, "rev1", requirement="当天处置")
    svc.start(c[0].case_no, "dept")
    svc.resolve(c[0].case_no, "dept", "已更换井盖")
    svc.feedback(c[0].case_no, "op", 5, "满意")
    svc.claim_next("rev2")
    svc.release(svc.queue(include_claimed=True)[0].case_no, "rev2")
    other = next(x for x in svc.catalog.category_names() if x != c[1].suggested_category)
    svc.correct(c[1].case_no, "rev2", category=other, priority="high")
    svc.return_case(c[1].case_no, "dept", "不属于本部门")
    svc.accept(c[1].case_no, "rev2")
    svc.merge(c[3].case_no, c[2].case_no, "rev1")
    svc.reject(c[4].case_no, "rev1", "已由城管当场处理")
    with pytest.raises(IllegalTransitionError):  # a refused change leaves no trace
        svc.accept(c[4].case_no, "rev1")
    return [x.case_no for x in c]


def test_every_change_has_exactly_one_event(case_service) -> None:
    for no in _exercise(case_service):
        case = case_service.get(no)
        events = case_service.audit_trail(no)
        assert len(events) == case.version, [e.action for e in events]
        assert events[0].action == "submit"
        assert all(e.actor and e.at and e.action and e.case_no == no for e in events)
        assert [e.id for e in events] == sorted(e.id for e in events)


def test_events_replay_to_the_current_state(case_service) -> None:
    for no in _exercise(case_service):
        last: dict[str, object] = {}
        for event in case_service.audit_trail(no):
            for key, old in (event.before or {}).items():
                if key in last:
                    assert last[key] == old, (no, event.action, key)
            last.update({k: v for k, v in (event.after or {}).items() if k != "correction"})
        current = snapshot(case_service.get(no))
        for key, value in last.items():
            if key in current:
                assert current[key] == value, (no, key)


def test_actions_per_case(case_service) -> None:
    numbers = _exercise(case_service)
    actions = {no: [e.action for e in case_service.audit_trail(no)] for no in numbers}
    assert actions[numbers[0]] == ["submit", "claim", "renew", "accept", "start", "resolve", "close"]
    assert actions[numbers[1]][-3:] == ["correct", "return", "accept"]
    assert actions[numbers[2]][-1] == "absorb" and actions[numbers[3]][-1] == "merge"
    assert actions[numbers[4]][-1] == "reject"


def test_audit_log_is_append_only(case_service) -> None:
    case = case_service.submit(TEXTS[0])
    table = AuditEvent.__table__
    with pytest.raises(DatabaseError, match="append-only"), case_service.db.engine.begin() as conn:
        conn.execute(sa.update(table).where(table.c.case_no == case.case_no).values(actor="mallory"))
    with pytest.raises(DatabaseError, match="append-only"), case_service.db.engine.begin() as conn:
        conn.execute(sa.delete(table).where(table.c.case_no == case.case_no))
    assert [e.actor for e in case_service.audit_trail(case.case_no)] == ["system"]
