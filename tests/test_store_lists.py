"""The three lists (问题清单 / 交办清单 / 办结清单) and their filters (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

from triage.config import LOCAL_TZ

A = "幸福里社区7号楼的化粪池满了，污水漫到路面上，味道很大，请尽快抽排。"
B = "河西街道农贸市场周边占道经营严重，早上摊位摆到马路中间，车辆无法通行。"
C = "锦绣花园小区内的健身器材坏了好几件，螺丝松动，有小孩玩的时候受伤了。"


def _setup(svc, clock):
    a = svc.submit(A, grid_code="G01", community="幸福里社区", street="河西街道")
    b = svc.submit(B, grid_code="G02", community="农贸社区", street="河西街道")
    svc.accept(a.case_no, "rev", requirement="48小时内抽排")
    svc.resolve(a.case_no, "dept", "已联系环卫抽排完毕")
    svc.feedback(a.case_no, "op", 3, "处理还算及时")
    clock.advance(days=2)
    c = svc.submit(C, grid_code="G03", community="锦绣社区", street="东风街道")
    svc.accept(c.case_no, "rev", requirement="一周内维修")
    return a, b, c


def test_problem_list_filters(case_service, store_clock) -> None:
    a, b, c = _setup(case_service, store_clock)
    rows = case_service.problem_list()
    assert [r["case_no"] for r in rows] == [c.case_no, b.case_no, a.case_no]  # newest first
    assert {"text", "source", "category", "citizens", "status", "created_at"} <= rows[0].keys()
    assert [r["case_no"] for r in case_service.problem_list(street="河西街道")] == [b.case_no, a.case_no]
    assert [r["case_no"] for r in case_service.problem_list(grid_code="G03")] == [c.case_no]
    assert [r["case_no"] for r in case_service.problem_list(community="农贸社区")] == [b.case_no]
    by_dept = case_service.problem_list(department_code=b.suggested_department_code)
    assert b.case_no in [r["case_no"] for r in by_dept]
    assert {r["department_code"] for r in by_dept} == {b.suggested_department_code}
    today = store_clock.now.astimezone(LOCAL_TZ).date()
    assert [r["case_no"] for r in case_service.problem_list(date_from=today, date_to=today)] == [c.case_no]
    earlier = today - timedelta(days=2)
    assert {r["case_no"] for r in case_service.problem_list(date_to=earlier.isoformat())} == {
        a.case_no,
        b.case_no,
    }
    assert len(case_service.problem_list(limit=1, offset=1)) == 1


def test_assignment_list(case_service, store_clock) -> None:
    a, b, c = _setup(case_service, store_clock)
    rows = case_service.assignment_list()
    assert {r["case_no"] for r in rows} == {a.case_no, c.case_no}  # b is still in review
    row = next(r for r in rows if r["case_no"] == c.case_no)
    assert row["requirement"] == "一周内维修" and row["department"] and row["deadline"] and not row["overdue"]
    dept = case_service.get(c.case_no).department_code
    assert c.case_no in [r["case_no"] for r in case_service.assignment_list(department_code=dept)]
    assert case_service.assignment_list(department_code="no_such_dept") == []
    store_clock.advance(days=400)
    assert next(r for r in case_service.assignment_list() if r["case_no"] == c.case_no)["overdue"]
    assert not next(r for r in case_service.assignment_list() if r["case_no"] == a.case_no)["overdue"]


def test_completion_list(case_service, store_clock) -> None:
    a, b, c = _setup(case_service, store_clock)
    rows = case_service.completion_list()
    assert [r["case_no"] for r in rows] == [a.case_no]
    row = rows[0]
    assert (
        row["result"] == "已联系环卫抽排完毕"
        and row["satisfaction"] == 3
        and row["feedback"] == "处理还算及时"
    )
    assert row["on_time"] is True
    assert case_service.completion_list(street="东风街道") == []
    assert [r["case_no"] for r in case_service.completion_list(community="幸福里社区")] == [a.case_no]
