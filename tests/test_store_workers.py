"""Several service instances on one database (API workers): shared duplicate index catch-up,
atomic idempotent submits, "cases I submitted", scoped search (SQLite and PostgreSQL)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from triage.dedup.lexical import DuplicateIndex
from triage.pipeline import DuplicateStage, Triager
from triage.store.errors import IllegalTransitionError, ValidationError
from triage.store.models import Case
from triage.store.registry import IdempotencyMismatchError
from triage.store.search import CaseFilter, CaseScope
from triage.store.service import CaseService

DRAIN = "东风路三号楼下水道堵塞一周了，污水漫到了小区路面，气味很大，请尽快安排疏通。"
DRAIN_AGAIN = "东风路三号楼下水道堵塞一周了，污水漫到了小区路面上，气味很大，请尽快安排人来疏通！"
LAMP = "滨河公园西门的路灯坏了半个月，晚上一片漆黑，老人散步很不安全，请修一下。"


def _worker(store_db, store_triager, store_clock, **kw) -> CaseService:
    """A service with its own engine stages and its own duplicate index, like another process."""
    stages = [s for s in store_triager.stages if s.name != "duplicates"]
    old = store_triager.duplicate_index
    index = DuplicateIndex(threshold=old.threshold, window_days=old.window_days)
    triager = Triager([*stages, DuplicateStage(index)], max_text_chars=store_triager.max_text_chars)
    triager.bundle, triager.router = store_triager.bundle, store_triager.router
    return CaseService(store_db, triager, clock=store_clock, **kw)


def test_other_workers_cases_become_duplicate_candidates(store_db, store_triager, store_clock) -> None:
    a = _worker(store_db, store_triager, store_clock, index_sync_seconds=0)
    b = _worker(store_db, store_triager, store_clock, index_sync_seconds=0)
    first = a.submit(DRAIN)
    assert first.case_no not in b.duplicate_index
    second = b.submit(DRAIN_AGAIN)
    assert first.case_no in [d["case_no"] for d in second.duplicate_candidates]
    hint = b.suggest([DRAIN])[0]
    assert {first.case_no, second.case_no} <= {d.case_id for d in hint.duplicates}
    # a merges b's case and rejects its own: b drops both from its index on the next catch-up
    a.merge(second.case_no, first.case_no, "rev")
    a.reject(first.case_no, "rev", "已电话答复")
    assert b.sync_duplicate_index() == (0, 2)
    assert len(b.duplicate_index) == 0 and b.suggest([DRAIN])[0].duplicates == []


def test_catch_up_is_throttled(store_db, store_triager, store_clock) -> None:
    a = _worker(store_db, store_triager, store_clock)
    b = _worker(store_db, store_triager, store_clock, index_sync_seconds=3600)
    first = a.submit(LAMP)
    assert b.sync_duplicate_index() == (0, 0)  # synced at start-up, not due again yet
    assert b.sync_duplicate_index(force=True) == (1, 0)
    assert first.case_no in b.duplicate_index


def test_idempotent_submit_creates_one_case_and_replays(store_db, store_triager, store_clock) -> None:
    a = _worker(store_db, store_triager, store_clock)
    b = _worker(store_db, store_triager, store_clock)

    def render(case: Case) -> dict:
        return {"case_no": case.case_no, "submitted_by": case.submitted_by}

    def send(i: int):
        svc = (a, b)[i % 2]  # the retries reach both workers
        return svc.submit_idempotent(
            DRAIN, idempotency_key="k-1", request_hash="h1", owner="7", render=render, actor="op1"
        )

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(send, range(8)))
    assert {o.status_code for o in outcomes} == {201}
    assert len({o.response["case_no"] for o in outcomes}) == 1
    assert sum(not o.replayed for o in outcomes) == 1
    assert len(a.search(CaseFilter(limit=100))) == 1
    assert outcomes[0].response["submitted_by"] == "op1"
    with pytest.raises(IdempotencyMismatchError):
        a.submit_idempotent(DRAIN, idempotency_key="k-1", request_hash="h2", owner="7", render=render)
    other = a.submit_idempotent(DRAIN, idempotency_key="k-1", request_hash="h1", owner="8", render=render)
    assert not other.replayed and other.response["case_no"] != outcomes[0].response["case_no"]


def test_failed_submit_leaves_no_key_behind(case_service) -> None:
    with pytest.raises(ValidationError):
        case_service.submit_idempotent(
            LAMP, idempotency_key="k", request_hash="h", owner="1", render=str, source="fax"
        )
    ok = case_service.submit_idempotent(
        LAMP, idempotency_key="k", request_hash="h", owner="1", render=lambda c: c.case_no
    )
    assert not ok.replayed and ok.case is not None and ok.response == ok.case.case_no


def test_search_scope_admits_grid_and_own_submits(case_service) -> None:
    mine = case_service.submit(DRAIN, actor="gw1", grid_code="G9")
    theirs = case_service.submit(LAMP, actor="gw2", grid_code="G1")
    assert case_service.submitted_by(mine) == "gw1" == case_service.get(mine.case_no).submitted_by
    worker = CaseScope(grids=("G1",), submitted_by="gw1")
    assert {c.case_no for c in case_service.search(CaseFilter(), worker)} == {mine.case_no, theirs.case_no}
    deputy = CaseScope(grids=("G1",))
    assert [c.case_no for c in case_service.search(CaseFilter(), deputy)] == [theirs.case_no]
    nobody = CaseScope(grids=())
    assert case_service.search(CaseFilter(), nobody) == []


def test_store_errors_carry_the_allowed_values(case_service) -> None:
    case = case_service.submit(LAMP)
    with pytest.raises(ValidationError) as info:
        case_service.correct(case.case_no, "rev", level="宇宙")
    assert info.value.code == "unknown_level" and "区" in info.value.allowed
    with pytest.raises(ValidationError) as info:
        case_service.correct(case.case_no, "rev", department_code="nope")
    assert info.value.code == "unknown_department" and info.value.allowed
    with pytest.raises(IllegalTransitionError) as err:
        case_service.resolve(case.case_no, "dept", "已修复")
    assert err.value.allowed == ["dispatched", "merged", "rejected"]
    assert case_service.catalog.category_names() and case_service.has_catalog
