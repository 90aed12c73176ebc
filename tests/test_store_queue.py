"""Review queue: ordering, paging, claim leases and expiry, concurrent claimers (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from support.synthetic import bulk_insert_pending

from triage.store.errors import LeaseError, ValidationError
from triage.store.queue import QueueCursor
from triage.store.service import CaseService

NOISE = "锦绣花园对面的工地每天晚上十一点以后还在打桩，噪音特别大，孩子没法睡觉，请管一管。"
LITTER = "人民公园东门的垃圾桶满了好几天没人清运，烟头和塑料袋到处都是，气味难闻。"


def _order_key(c):
    return (c.priority_rank, c.deadline, c.confidence, c.id)


def test_queue_order_priority_deadline_confidence(store_db, store_clock) -> None:
    bulk_insert_pending(store_db, 300, now=store_clock.now)
    svc = CaseService(store_db, clock=store_clock)
    page = svc.queue(limit=300)
    assert len(page) == 300 == svc.queue_count()
    assert [_order_key(c) for c in page] == sorted(_order_key(c) for c in page)
    assert page[0].priority == "urgent"


def test_keyset_pages_match_offset_pages(store_db, store_clock) -> None:
    bulk_insert_pending(store_db, 120, now=store_clock.now)
    svc = CaseService(store_db, clock=store_clock)
    everything = [c.case_no for c in svc.queue(limit=500)]
    walked, cursor = [], None
    while True:
        page = svc.queue(limit=25, after=cursor)
        if not page:
            break
        walked += [c.case_no for c in page]
        cursor = QueueCursor.after(page[-1]).encode()
    assert walked == everything
    assert [c.case_no for c in svc.queue(limit=25, offset=50)] == everything[50:75]
    grid = svc.queue(limit=500, grid_code="G001")
    assert grid and {c.grid_code for c in grid} == {"G001"} and len(grid) < len(everything)
    with pytest.raises(ValidationError) as info:
        svc.queue(colour="red")
    assert info.value.code == "unknown_filter"


def test_category_and_overdue_filters(store_db, store_clock) -> None:
    bulk_insert_pending(store_db, 200, now=store_clock.now)
    svc = CaseService(store_db, clock=store_clock)
    everything = svc.queue(limit=500)
    category = everything[0].suggested_category
    same = svc.queue(limit=500, category=category)
    assert same and {c.suggested_category for c in same} == {category} and len(same) < len(everything)
    now = store_clock.now
    late = svc.queue(limit=500, overdue="1")
    assert [c.case_no for c in late] == [c.case_no for c in everything if c.deadline < now]
    assert len(svc.queue(limit=500, overdue="0")) == 200  # "0": no overdue filter
    store_clock.advance(days=400)  # every deadline has passed now
    assert len(svc.queue(limit=500, overdue="1")) == 200


def test_claim_lease_blocks_others_until_it_expires(case_service, store_clock) -> None:
    a = case_service.submit(NOISE)
    b = case_service.submit(LITTER)
    first = case_service.claim_next("alice")
    assert first.lease_owner == "alice" and first.version == 2
    assert first.lease_expires_at == store_clock.now + timedelta(minutes=10)
    second = case_service.claim_next("bob")
    assert {first.case_no, second.case_no} == {a.case_no, b.case_no}
    assert case_service.claim_next("carol") is None  # both held
    assert case_service.queue() == [] and len(case_service.queue(include_claimed=True)) == 2

    with pytest.raises(LeaseError) as info:
        case_service.claim(first.case_no, "bob")
    assert info.value.code == "lease_held"
    with pytest.raises(LeaseError):
        case_service.accept(first.case_no, "bob")  # bob cannot decide alice's case

    store_clock.advance(minutes=10, seconds=1)  # alice's lease expired: back in the queue
    assert {c.case_no for c in case_service.queue()} == {a.case_no, b.case_no}
    taken = case_service.claim(first.case_no, "carol")
    assert taken.lease_owner == "carol"
    with pytest.raises(LeaseError):
        case_service.accept(first.case_no, "alice")
    assert case_service.accept(first.case_no, "carol").lease_owner is None


def test_renew_and_release(case_service, store_clock) -> None:
    case = case_service.submit(NOISE)
    held = case_service.claim(case.case_no, "alice")
    store_clock.advance(minutes=5)
    renewed = case_service.claim(case.case_no, "alice")
    assert renewed.lease_expires_at > held.lease_expires_at
    with pytest.raises(LeaseError):
        case_service.release(case.case_no, "bob")
    released = case_service.release(case.case_no, "alice")
    assert released.lease_owner is None and case_service.claim_next("bob").case_no == case.case_no
    actions = [e.action for e in case_service.audit_trail(case.case_no)]
    assert actions == ["submit", "claim", "renew", "release", "claim"]


def test_claim_refuses_cases_not_in_review(case_service) -> None:
    case = case_service.submit(LITTER)
    case_service.accept(case.case_no, "alice")
    with pytest.raises(LeaseError):
        case_service.claim(case.case_no, "bob")


def test_concurrent_claimers_take_every_case_exactly_once(store_db, store_clock) -> None:
    n_cases = 200
    workers = 8 if store_db.is_postgres else 4
    bulk_insert_pending(store_db, n_cases, now=store_clock.now)
    svc = CaseService(store_db, clock=store_clock)
    claimed: dict[str, list[str]] = {f"w{i}": [] for i in range(workers)}
    errors: list[BaseException] = []
    start = threading.Barrier(workers)

    def work(name: str) -> None:
        try:
            start.wait()
            while (case := svc.claim_next(name)) is not None:
                claimed[name].append(case.case_no)
                time.sleep(0.001)  # a reviewer works on the case: lets the other threads interleave
        except BaseException as exc:  # noqa: BLE001 - any error fails the test below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(name,)) for name in claimed]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    counts = Counter(no for nos in claimed.values() for no in nos)
    assert len(counts) == n_cases and set(counts.values()) == {1}
    assert sum(1 for nos in claimed.values() if nos) > 1  # the work really was shared
    assert svc.queue_count() == 0 and svc.queue_count(include_claimed=True) == n_cases
