"""The lifecycle mix of the synthetic bulk loader (benchmarks, demos) on SQLite and PostgreSQL:
consistent cases, and dashboard figures that add up on them."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from support.synthetic import bulk_insert_cases

from triage.store import stats
from triage.store.models import AuditEvent, Case, Feedback

N = 700
ACTIVE = ("pending_review", "dispatched", "in_progress")
DECIDED = ("dispatched", "in_progress", "resolved", "closed")


def test_lifecycle_mix_is_consistent_and_adds_up(store_db) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    counts = bulk_insert_cases(store_db, N, days=60, now=now, chunk=300)
    assert sum(counts.values()) == N and len(counts) == 7  # every status of the lifecycle
    with store_db.session() as s:
        cases = s.execute(sa.select(Case)).scalars().all()
        feedback = s.execute(sa.select(sa.func.count()).select_from(Feedback)).scalar_one()
        events = s.execute(sa.select(sa.func.count()).select_from(AuditEvent)).scalar_one()
    by_no = {c.case_no: c for c in cases}
    for c in cases:
        steps = [c.created_at, c.reviewed_at, c.dispatched_at, c.started_at, c.resolved_at, c.closed_at]
        present = [t for t in steps if t is not None]
        assert present == sorted(present) and present[-1] <= now, c.case_no
        assert (c.reviewed_at is None) == (c.status == "pending_review")
        assert (c.department_code is not None) == (c.status in DECIDED)
        assert (c.resolved_at is not None) == (c.status in ("resolved", "closed"))
        assert (c.satisfaction is not None) == (c.status == "closed")
        if c.status == "merged":
            parent = by_no[c.duplicate_of]
            assert parent.created_at <= c.created_at and parent.status not in ("merged", "rejected")
    assert sum(c.duplicate_count for c in cases) == counts["merged"]
    assert feedback == counts["closed"] and events == 2 * N - counts["pending_review"]

    res = stats.resolution(store_db, now, 90)
    assert res.received == N and res.by_status == counts
    assert res.resolved == counts["resolved"] + counts["closed"]
    assert res.actionable == N - counts["merged"] - counts["rejected"]
    assert res.avg_hours is not None and res.avg_hours > 0 and 0 < (res.on_time_rate or 0) <= 1
    assert stats.daily_volume(store_db, now, 90).total == N
    assert stats.satisfaction(store_db, now, 90).total == counts["closed"]
    load = stats.department_load(store_db, now)
    assert sum(d.open for d in load) == sum(counts[s] for s in ACTIVE)
    assert all(0 <= d.overdue <= d.open for d in load) and any(d.overdue for d in load)
    housing = stats.resolution(store_db, now, 90, stats.StatsScope(department_code="housing"))
    assert 0 < housing.received < N
    records = stats.hot_issue_records(store_db, now, 90)
    open_nos = {c.case_no for c in cases if c.status in (*ACTIVE, "resolved")}
    assert records and {r.id for r in records} <= open_nos
