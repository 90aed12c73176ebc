"""台账 (SQLite and PostgreSQL): each ledger's figures equal a direct count over the rows, for the
whole city and for one grid and period; disputes and mediation sessions are recorded and checked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import col, select
from support.api_env import seed_users

from triage.store.errors import CaseStateError, DisputeNotFoundError, ValidationError
from triage.store.ledgers import SATISFIED_MIN, LedgerFilter
from triage.store.models import Case, Escalation, FollowUp, Supervision

TEXTS = [
    "幸福小区3栋楼下井盖松动，老人差点摔倒，请尽快更换。",
    "南门广场晚上广场舞音响太吵，影响休息。",
    "建设路路灯坏了一个月，晚上很黑。",
    "东风小区垃圾清运不及时，气味很大。",
]


@pytest.fixture
def world(case_service, store_clock, store_db):
    """Two deputies in two grids; cases dispatched, resolved, rated, re-handled, supervised, escalated."""
    seed_users(
        store_db,
        {
            "deputy1": ("deputy", None, ("G001",)),
            "deputy2": ("deputy", None, ("G002",)),
            "op": ("operator", None, ()),
        },
    )
    svc, made = case_service, []
    for i, text in enumerate(TEXTS * 2):
        grid, who = ("G001", "deputy1") if i % 2 == 0 else ("G002", "deputy2")
        case = svc.submit(text + f"（{i}）", grid_code=grid, street="东街街道", source="deputy", actor=who)
        svc.correct(case.case_no, "rev", department_code="street" if i % 3 else "housing")
        made.append(case.case_no)
    store_clock.advance(hours=1)
    svc.supervision.supervise(made[0], "deputy1", "三日内解决", store_clock() + timedelta(hours=2))
    svc.supervision.supervise(made[1], "deputy2", "一周内解决", store_clock() + timedelta(days=7))
    svc.supervision.escalate(made[2], "deputy1", "需要区里协调", to_department="district_gov")
    for n, rating in zip(
        made[3:7], ("satisfied", "basically_satisfied", "unsatisfied", "satisfied"), strict=True
    ):
        svc.resolve(n, "dept", "已处理")
        svc.followups.followup(n, "op", rating)
    store_clock.advance(days=2)  # the first supervision and the whistle's report-in are now late
    return made


def _direct(case_service, grid: str | None = None) -> dict[str, int]:
    with case_service.db.session() as s:
        cases = [c for c in s.exec(select(Case)) if grid is None or c.grid_code == grid]
    return {
        "received": len(cases),
        "resolved": sum(c.status in ("resolved", "closed") for c in cases),
        "rated": sum(c.satisfaction is not None for c in cases),
        "satisfied": sum((c.satisfaction or 0) >= SATISFIED_MIN for c in cases),
        "citizens": sum(1 + c.duplicate_count for c in cases),
    }


def test_department_ledger_matches_direct_counts(case_service, world) -> None:
    rows = case_service.ledger("departments")
    direct = _direct(case_service)
    assert sum(r["received"] for r in rows) == direct["received"]
    assert sum(r["resolved"] for r in rows) == direct["resolved"]
    assert sum(r["rated"] for r in rows) == direct["rated"]
    assert sum(r["satisfied"] for r in rows) == direct["satisfied"]
    with case_service.db.session() as s:
        rehandles = s.exec(select(FollowUp).where(col(FollowUp.outcome) == "rehandle")).all()
        late_esc = s.exec(select(Escalation).where(col(Escalation.reported_in_at).is_(None))).all()
        sups = s.exec(select(Supervision)).all()
    assert sum(r["rehandled"] for r in rows) == len(rehandles) == 1
    assert sum(r["whistles_late"] for r in rows) == len(late_esc) == 1
    now = case_service.clock()
    missed = [x for x in sups if x.due < now]  # neither supervised case is resolved
    assert sum(r["supervision_missed"] for r in rows) == len(missed) == 1
    street = next(r for r in rows if r["department_code"] == "street")
    assert 0 <= (street["on_time_rate"] or 0) <= 1


def test_deputy_ledger_per_grid_and_period(case_service, world) -> None:
    rows = {r["username"]: r for r in case_service.ledger("deputies")}
    assert set(rows) == {"deputy1", "deputy2"}
    d1 = rows["deputy1"]
    direct = _direct(case_service, "G001")
    assert (d1["collected"], d1["residents_met"], d1["resolved"]) == (
        direct["received"],
        direct["citizens"],
        direct["resolved"],
    )
    assert (d1["supervised"], d1["whistles"], d1["proposals"]) == (1, 1, 0)
    only_g2 = case_service.ledger("deputies", LedgerFilter(grid_code="G002"))
    assert [r["username"] for r in only_g2] == ["deputy2"]
    future = case_service.clock().date() + timedelta(days=5)
    later = case_service.ledger("deputies", LedgerFilter(date_from=future))
    assert all(r["collected"] == 0 and r["supervised"] == 0 for r in later)


def test_requests_ledger_and_headline(case_service, world) -> None:
    led = case_service.ledger("requests", LedgerFilter(grid_code="G001", limit=500))
    direct = _direct(case_service, "G001")
    assert led["total"] == direct["received"] == len(led["rows"])
    head = case_service.ledger_headline(LedgerFilter(street="东街街道"))
    everything = _direct(case_service)
    assert head["cases_resolved"] == everything["resolved"]
    assert head["satisfaction_rate"] == round(everything["satisfied"] / everything["rated"], 4)
    assert head["disputes_mediated"] == 0


def test_disputes_ledger(case_service, world, store_clock) -> None:
    d = case_service.disputes
    one = d.create(
        "gw", title="邻里漏水纠纷", parties="张某（楼上）、李某（楼下）", summary="楼上漏水", case_no=world[0]
    )
    assert one.grid_code == "G001" and one.case_no == world[0]
    two = d.create(
        "gw", title="停车位纠纷", parties="王某、赵某", summary="车位", grid_code="G002", street="东街街道"
    )
    d.add_session(one.id, "gw", mediator="调解员甲", note="第一次调解，双方各执一词")
    closed = d.add_session(one.id, "gw", mediator="调解员甲", note="达成协议，楼上修复", outcome="resolved")
    assert closed.sessions == 2 and closed.outcome == "resolved"
    with pytest.raises(CaseStateError):
        d.add_session(one.id, "gw", mediator="甲", note="再调解")
    with pytest.raises(ValidationError) as err:
        d.add_session(two.id, "gw", mediator="甲", note="x", outcome="won")
    assert err.value.field == "outcome"
    with pytest.raises(ValidationError) as err:
        d.create("gw", title="", parties="a", summary="b")
    assert err.value.field == "title"
    with pytest.raises(DisputeNotFoundError):
        d.get(999_999)
    led = case_service.ledger("disputes")
    assert (led["total"], led["resolved"], led["open"]) == (2, 1, 1)
    assert case_service.ledger("disputes", LedgerFilter(grid_code="G002"))["total"] == 1
    assert case_service.ledger_headline()["disputes_mediated"] == 1
    trail = [e.action for e in case_service.audit_trail(world[0])]
    assert "dispute_create" in trail and trail.count("mediation_session") == 2
    with case_service.db.session() as s:
        assert s.execute(sa.select(sa.func.count()).select_from(Case)).scalar_one() == len(world)


@dataclass(frozen=True)
class _Scope:
    department_code: str | None = None
    grids: tuple[str, ...] | None = None
    submitted_by: str | None = None


def test_rollup_figures_equal_the_count_over_cases(case_service, world, store_clock) -> None:
    """The departments ledger, headline and requests total read ``case_ledger_counts`` for the city
    or a department; naming every grid counts the same cases directly: the figures must agree."""
    every_grid = ("G001", "G002")
    today = store_clock().date()
    for period in (
        {},
        {"date_from": today},
        {"date_to": today - timedelta(days=1)},
        {"date_from": today - timedelta(days=3), "date_to": today},
    ):
        for department in (None, "street", "housing"):
            rollup = LedgerFilter(scope=_Scope(department_code=department), limit=500, **period)
            counted = LedgerFilter(
                scope=_Scope(department_code=department, grids=every_grid), limit=500, **period
            )
            assert case_service.ledger("departments", rollup) == case_service.ledger("departments", counted)
            assert case_service.ledger_headline(rollup) == case_service.ledger_headline(counted)
            assert (
                case_service.ledger("requests", rollup)["total"]
                == case_service.ledger("requests", counted)["total"]
            )
    city = case_service.ledger("departments")
    assert {r["department_code"] for r in city} >= {"street", "housing"}
    assert sum(r["received"] for r in city) == len(world)
