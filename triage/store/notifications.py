"""The deadline scanner and the per-user notification list (通知).

:func:`scan` turns cases that passed their 预警 point or their deadline into :class:`DeadlineAlert`
rows. It is idempotent per (case, kind): the unique constraint decides, with an insert that skips
conflicts, so any number of workers, page loads and periodic ticks may scan at once without a lost
or duplicated notification. A case already overdue when first scanned gets the overdue alert only
(a warning about a deadline that has passed tells nobody anything).

Who sees an alert is decided when reading, as every case list: the caller's scope (department,
grids) on the case plus the statuses their role owns, matched against the case's status when the
alert was raised (``api.access`` decides both; this module only turns them into SQL).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from triage.config import DEFAULT_DEADLINE_WARN_RATIO
from triage.store.db import Database
from triage.store.deadlines import warned_condition
from triage.store.models import ACTIVE_STATUS_LIST, Case
from triage.store.models.notifications import AlertKind, DeadlineAlert, NotificationRead
from triage.store.search import ScopeLike, scope_conditions

SCAN_BATCH = 500  # candidates per transaction
MAX_ROUNDS = 40  # per kind and scan: 20,000 alerts; a larger backlog continues at the next scan
MAX_LIST = 200


@dataclass(frozen=True, slots=True)
class Notification:
    """One line of a user's 通知 list: the alert, the case as it is now, and whether it was read."""

    id: int
    case_no: str
    kind: str
    alert_status: str  # the case's status when alerted
    status: str  # the case's status now
    title: str | None
    priority: str
    deadline: datetime
    created_at: datetime
    read_at: datetime | None


ALERT_KEY = ("case_id", "kind")  # uq_deadline_alerts_case_kind


def _insert_dialect(dialect: str) -> Any:
    """The dialect module whose ``insert`` has ON CONFLICT (PostgreSQL's or SQLite's)."""
    return postgresql if dialect == "postgresql" else sqlite


def _insert_ignore(dialect: str, table: sa.Table) -> sa.Insert:
    """INSERT … ON CONFLICT DO NOTHING on the (case, kind) key, in the database's own dialect."""
    return _insert_dialect(dialect).insert(table).on_conflict_do_nothing(index_elements=list(ALERT_KEY))


def _candidates(db: Database, kind: AlertKind, now: datetime, ratio: float) -> sa.Select:
    """Active cases due an alert of ``kind`` that have none yet (overdue: past the deadline)."""
    already = sa.exists().where(
        col(DeadlineAlert.case_id) == col(Case.id), col(DeadlineAlert.kind) == kind.value
    )
    late = col(Case.deadline) < now
    due = (
        late
        if kind == AlertKind.OVERDUE
        else sa.and_(sa.not_(late), warned_condition(db.dialect, now, ratio))
    )
    cols = (Case.id, Case.case_no, Case.status, Case.department_code, Case.priority, Case.deadline)
    return (
        sa.select(*(col(c) for c in cols))
        .where(col(Case.status).in_(list(ACTIVE_STATUS_LIST)), due, ~already)
        .order_by(col(Case.deadline), col(Case.id))
        .limit(SCAN_BATCH)
    )


def scan(
    db: Database, now: datetime, *, ratio: float = DEFAULT_DEADLINE_WARN_RATIO, webhook: bool = False
) -> list[DeadlineAlert]:
    """Write the alerts that are due and return the ones this call created (none twice, ever).

    ``webhook``: mark new alerts as owed to the outgoing webhook (delivered by :mod:`.webhook`).
    """
    created: list[DeadlineAlert] = []
    for kind in (AlertKind.OVERDUE, AlertKind.WARNING):
        for _ in range(MAX_ROUNDS):  # a backlog (first start, a long outage) in rounds of SCAN_BATCH
            found, new = _scan_round(db, kind, now, ratio, webhook)
            created.extend(new)
            if found < SCAN_BATCH:
                break
    if db.is_postgres and len(created) >= SCAN_BATCH:
        _analyze_alerts(db)
    return created


def _analyze_alerts(db: Database) -> None:
    """Refresh PostgreSQL's statistics of ``deadline_alerts`` after a backlog was written.

    With the statistics of the empty table (autovacuum off, or not yet round) the planner expects
    a few alerts and checks "has no alert yet" by re-reading all of them for every active case:
    2.6 s per scan with 10,000 alerts, every tick, beside the pages. ANALYZE restores the index
    probe (milliseconds); it samples at most 30,000 rows.
    """
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE deadline_alerts")


def _alert_row(case: Any, kind: AlertKind, now: datetime, *, webhook_due: datetime | None) -> dict[str, Any]:
    """The ``deadline_alerts`` row for ``case`` (a Case, or a row of :func:`_candidates`)."""
    return {
        "case_id": case.id,
        "case_no": case.case_no,
        "kind": kind.value,
        "status": case.status,
        "department_code": case.department_code,
        "priority": case.priority,
        "deadline": case.deadline,
        "created_at": now,
        "webhook_next_at": webhook_due,
        "webhook_attempts": 0,
    }


def _scan_round(
    db: Database, kind: AlertKind, now: datetime, ratio: float, webhook: bool
) -> tuple[int, list[DeadlineAlert]]:
    """One transaction: up to SCAN_BATCH candidates; returns how many were found and the new alerts."""
    created: list[DeadlineAlert] = []
    table = DeadlineAlert.__table__  # type: ignore[attr-defined]
    with db.session(write=True) as session:
        rows = session.execute(_candidates(db, kind, now, ratio)).all()
        for row in rows:
            values = _alert_row(row, kind, now, webhook_due=now if webhook else None)
            result = session.execute(_insert_ignore(db.dialect, table).values(**values).returning(table.c.id))
            new_id = result.scalar_one_or_none()
            if new_id is not None:  # None: another scanner got there first
                created.append(DeadlineAlert(id=new_id, **values))
    return len(rows), created


def raise_alert(session: Session, case: Case, kind: AlertKind, now: datetime) -> None:
    """In the caller's transaction: tell whoever now owns ``case`` that ``kind`` happened (吹哨,
    督办). One row per (case, kind), read through the same scope rules as the deadline alerts; a
    second 吹哨 or 督办 of the case refreshes it (new time, owner, deadline) and makes it unread again."""
    table = DeadlineAlert.__table__  # type: ignore[attr-defined]
    values = _alert_row(case, kind, now, webhook_due=None)
    insert = _insert_dialect(session.get_bind().dialect.name).insert(table).values(**values)
    refreshed = ("status", "department_code", "priority", "deadline", "created_at")
    fresh = {k: insert.excluded[k] for k in refreshed}
    alert_id = session.execute(
        insert.on_conflict_do_update(index_elements=list(ALERT_KEY), set_=fresh).returning(table.c.id)
    ).scalar_one()
    session.execute(sa.delete(NotificationRead).where(col(NotificationRead.alert_id) == alert_id))


# -- reading -------------------------------------------------------------------------------------
def _visible(scope: ScopeLike | None, statuses: Sequence[str] | None) -> list[sa.ColumnElement[bool]]:
    out = list(scope_conditions(scope))
    if statuses is not None:
        out.append(col(DeadlineAlert.status).in_(list(statuses)) if statuses else sa.false())
    return out


def _read_join(username: str) -> sa.ColumnElement[bool]:
    return sa.and_(
        col(NotificationRead.alert_id) == col(DeadlineAlert.id), col(NotificationRead.username) == username
    )


def notifications(
    db: Database,
    username: str,
    scope: ScopeLike | None,
    statuses: Sequence[str] | None,
    *,
    unread_only: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> list[Notification]:
    """The user's alerts, newest first, with the case's current status and title."""
    stmt = (
        sa.select(
            col(DeadlineAlert.id),
            col(DeadlineAlert.case_no),
            col(DeadlineAlert.kind),
            col(DeadlineAlert.status),
            col(Case.status),
            col(Case.title),
            col(DeadlineAlert.priority),
            col(DeadlineAlert.deadline),
            col(DeadlineAlert.created_at),
            col(NotificationRead.read_at),
        )
        .join(Case, col(Case.id) == col(DeadlineAlert.case_id))
        .outerjoin(NotificationRead, _read_join(username))
        .where(*_visible(scope, statuses))
    )
    if unread_only:
        stmt = stmt.where(col(NotificationRead.read_at).is_(None))
    newest = (col(DeadlineAlert.created_at).desc(), col(DeadlineAlert.id).desc())  # refreshed ones rise
    stmt = stmt.order_by(*newest).limit(min(limit, MAX_LIST)).offset(offset)
    with db.session() as session:
        return [Notification(*row) for row in session.execute(stmt)]


def unread_count(db: Database, username: str, scope: ScopeLike | None, statuses: Sequence[str] | None) -> int:
    stmt = (
        sa.select(sa.func.count())
        .select_from(DeadlineAlert)
        .join(Case, col(Case.id) == col(DeadlineAlert.case_id))
        .outerjoin(NotificationRead, _read_join(username))
        .where(col(NotificationRead.read_at).is_(None), *_visible(scope, statuses))
    )
    with db.session() as session:
        return int(session.execute(stmt).scalar_one())


def mark_read(
    db: Database,
    username: str,
    scope: ScopeLike | None,
    statuses: Sequence[str] | None,
    now: datetime,
    alert_ids: Sequence[int] | None = None,
) -> int:
    """Mark the user's unread alerts (all, or those of ``alert_ids``) as read; returns how many.

    Only alerts the user can see are marked: an id outside their list changes nothing.
    """
    stmt = (
        sa.select(col(DeadlineAlert.id))
        .join(Case, col(Case.id) == col(DeadlineAlert.case_id))
        .outerjoin(NotificationRead, _read_join(username))
        .where(col(NotificationRead.read_at).is_(None), *_visible(scope, statuses))
    )
    if alert_ids is not None:
        if not alert_ids:
            return 0
        stmt = stmt.where(col(DeadlineAlert.id).in_(list(alert_ids)))
    table = NotificationRead.__table__  # type: ignore[attr-defined]
    base = _insert_dialect(db.dialect).insert(table)
    insert = base.on_conflict_do_nothing(index_elements=["alert_id", "username"]).returning(table.c.alert_id)
    with db.session(write=True) as session:
        ids = list(session.execute(stmt).scalars())
        marked = 0
        for alert_id in ids:
            done = session.execute(insert.values(alert_id=alert_id, username=username, read_at=now))
            marked += done.scalar_one_or_none() is not None
    return marked
