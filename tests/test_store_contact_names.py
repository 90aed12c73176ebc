"""Store side of issue #13 items 1 and 8, on SQLite and PostgreSQL: revealing a reporter's contact
is one audited read that changes nothing else; department and grid codes have names to show."""

from __future__ import annotations

import pytest

from triage.store.catalog import sync_departments
from triage.store.errors import CaseNotFoundError
from triage.store.models import Grid
from triage.store.names import load_names, with_names

NOISE = "工地夜间施工噪音扰民，晚上十一点以后还在作业，希望城管管一管。"


def test_reveal_contact_is_audited_and_changes_nothing(case_service, store_clock) -> None:
    case = case_service.submit(NOISE, reporter_name="张三", reporter_contact="13800138000", grid_code="G001")
    store_clock.advance(minutes=5)
    shown = case_service.reveal_contact(case.case_no, "op1", reason="回访")
    assert shown.reporter_contact == "13800138000" and shown.reporter_name == "张三"
    after = case_service.get(case.case_no)
    assert after.version == case.version and after.updated_at == case.updated_at  # nothing changed
    events = [e for e in case_service.audit_trail(case.case_no) if e.action == "reveal_contact"]
    assert len(events) == 1
    event = events[0]
    assert (event.actor, event.case_no, event.note) == ("op1", case.case_no, "回访")
    assert event.at.replace(tzinfo=None) == store_clock.now.replace(tzinfo=None)
    assert "13800138000" not in repr((event.before, event.after, event.note))  # the number is not logged
    case_service.reveal_contact(case.case_no, "admin")
    actors = [e.actor for e in case_service.audit_trail(case.case_no) if e.action == "reveal_contact"]
    assert actors == ["op1", "admin"]


def test_reveal_contact_of_an_unknown_case(case_service) -> None:
    with pytest.raises(CaseNotFoundError):
        case_service.reveal_contact("NOPE-1", "op1")


def test_names_for_codes(case_service, store_db) -> None:
    sync_departments(store_db, case_service.catalog)
    with store_db.session(write=True) as s:
        s.add(Grid(code="G001", name="幸福一网格", community="幸福社区", street="东风街道"))
        s.add(Grid(code="G002", name="幸福社区二网格", community="幸福社区", street="东风街道"))
    names = load_names(store_db, ["G001", "G002", "G404", None])
    assert names.grid("G001") == "幸福一网格（幸福社区）"
    assert names.grid("G002") == "幸福社区二网格"  # the community is already in the name
    assert names.grid("G404") == "G404" and names.grid(None) == ""  # unknown codes stay readable
    assert names.department("urban_mgmt") == case_service.catalog.department("urban_mgmt").name
    assert names.department("nowhere", "某单位") == "某单位" and names.department("nowhere") == "nowhere"
    rows = with_names([{"grid_code": "G001", "department_code": "urban_mgmt"}], names)
    assert rows[0]["grid_name"] == "幸福一网格（幸福社区）" and rows[0]["department_name"].endswith("局")
    assert rows[0]["department_code"] == "urban_mgmt"  # codes kept for links and filters
