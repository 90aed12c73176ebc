"""The review queue: ordering, paging and claim leases.

Order: priority (urgent first), then deadline (soonest first), then confidence (least sure
first), then id. Both databases serve it from ``ix_cases_queue`` (status, then the order).

Two reviewers can never hold the same case. PostgreSQL picks the next case with
``SELECT … FOR UPDATE SKIP LOCKED``, so concurrent claimers skip each other's rows instead of
waiting; SQLite runs the claim in a ``BEGIN IMMEDIATE`` transaction (one writer at a time)
and the UPDATE itself is conditional on the lease still being free and the version
unchanged. An expired lease makes the case claimable again without any clean-up job.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from triage.store.db import rows_matched
from triage.store.errors import LeaseError, unknown_value
from triage.store.lifecycle import record
from triage.store.models import QUEUE_STATUS, Case

_INT32_MAX = 2**31 - 1  # INTEGER columns (priority_rank, id) on PostgreSQL
_DEADLINE_TYPE = Case.__table__.c.deadline.type  # type: ignore[attr-defined]
QUEUE_ORDER = (col(Case.priority_rank), col(Case.deadline), col(Case.confidence), col(Case.id))
# Inlined literal (not a bound parameter): planners see the actual status when they choose an index.
IN_QUEUE = col(Case.status) == sa.literal_column(f"'{QUEUE_STATUS}'")
# What a queue page or the desk can be narrowed by (equality), plus OVERDUE (deadline passed).
# A pending case's department and category are the suggested ones until a reviewer decides.
QUEUE_FILTERS: dict[str, Any] = {  # name → column expression
    "grid_code": col(Case.grid_code),
    "community": col(Case.community),
    "street": col(Case.street),
    "source": col(Case.source),
    "priority": col(Case.priority),
    "department_code": sa.func.coalesce(Case.department_code, Case.suggested_department_code),
    "category": sa.func.coalesce(Case.category, Case.suggested_category),
}
OVERDUE = "overdue"  # any value but "", "0" or None: only cases past their deadline


def filter_conditions(
    filters: Mapping[str, str | None] | None, now: datetime
) -> list[sa.ColumnElement[bool]]:
    """SQL conditions for ``filters`` (:data:`QUEUE_FILTERS` names and :data:`OVERDUE`); None values
    are ignored, unknown names raise ValidationError (422, ``unknown_filter``)."""
    out: list[sa.ColumnElement[bool]] = []
    for name, value in (filters or {}).items():
        if name == OVERDUE:
            if value not in (None, "", "0"):
                out.append(col(Case.deadline) < now)
            continue
        if name not in QUEUE_FILTERS:
            raise unknown_value("filter", name, [*QUEUE_FILTERS, OVERDUE], code="unknown_filter")
        if value is not None:
            out.append(QUEUE_FILTERS[name] == value)
    return out


def lease_free(now: datetime, owner: str | None = None) -> sa.ColumnElement[bool]:
    """SQL condition: nobody else holds a live lease (``owner`` may renew its own)."""
    cond = sa.or_(col(Case.lease_owner).is_(None), col(Case.lease_expires_at) < now)
    if owner is not None:
        cond = sa.or_(cond, col(Case.lease_owner) == owner)
    return cond


@dataclass(frozen=True, slots=True)
class QueueCursor:
    """Keyset position after the last row of a page: stable, and as fast on page 1,000 as on page 1."""

    priority_rank: int
    deadline: datetime
    confidence: float
    id: int

    @classmethod
    def after(cls, case: Case) -> QueueCursor:
        assert case.id is not None
        return cls(case.priority_rank, case.deadline, case.confidence, case.id)

    def encode(self) -> str:
        return f"{self.priority_rank}|{self.deadline.isoformat()}|{self.confidence!r}|{self.id}"

    @classmethod
    def decode(cls, token: str) -> QueueCursor:
        """ValueError for anything ``encode`` cannot have written: the numbers must fit their
        (32-bit) columns and the deadline must convert to UTC, or the database raises later."""
        rank, deadline, confidence, case_id = token.split("|")
        cursor = cls(int(rank), datetime.fromisoformat(deadline), float(confidence), int(case_id))
        if not (0 <= cursor.priority_rank <= _INT32_MAX and 0 <= cursor.id <= _INT32_MAX):
            raise ValueError("cursor position out of range")
        if not math.isfinite(cursor.confidence):
            raise ValueError("cursor confidence is not a number")
        try:
            cursor.deadline.replace(tzinfo=cursor.deadline.tzinfo or UTC).astimezone(UTC)
        except OverflowError:
            raise ValueError("cursor deadline out of range") from None
        return cursor


def queue_query(
    now: datetime,
    *,
    include_claimed: bool = False,
    after: QueueCursor | None = None,
    filters: dict[str, str] | None = None,
):  # type: ignore[no-untyped-def]
    """SELECT for a queue page (without LIMIT/OFFSET)."""
    stmt = select(Case).where(IN_QUEUE)
    if not include_claimed:
        stmt = stmt.where(lease_free(now))
    stmt = stmt.where(*filter_conditions(filters, now))
    if after is not None:
        stmt = stmt.where(
            sa.tuple_(*QUEUE_ORDER)
            > sa.tuple_(
                sa.literal(after.priority_rank),
                sa.bindparam("after_deadline", after.deadline, type_=_DEADLINE_TYPE),
                sa.literal(after.confidence),
                sa.literal(after.id),
            )
        )
    return stmt.order_by(*QUEUE_ORDER)


def page(
    session: Session,
    now: datetime,
    *,
    limit: int = 50,
    offset: int = 0,
    after: QueueCursor | None = None,
    include_claimed: bool = False,
    filters: dict[str, str] | None = None,
) -> list[Case]:
    stmt = queue_query(now, include_claimed=include_claimed, after=after, filters=filters)
    return list(session.exec(stmt.limit(limit).offset(offset)))


def count(session: Session, now: datetime, *, include_claimed: bool = False) -> int:
    """Pending cases (free ones unless ``include_claimed``): all pending minus live leases, two
    index-only counts instead of one scan of every pending row."""
    total = session.execute(sa.select(sa.func.count()).select_from(Case).where(IN_QUEUE)).scalar_one()
    if include_claimed:
        return int(total)
    held = session.execute(
        sa.select(sa.func.count()).select_from(Case).where(IN_QUEUE, col(Case.lease_expires_at) >= now)
    ).scalar_one()
    return int(total) - int(held)


def _take(session: Session, case: Case, owner: str, now: datetime, minutes: float) -> Case:
    """Conditional UPDATE of the lease; raises LeaseError if someone got there first."""
    before = {"lease_owner": case.lease_owner, "lease_expires_at": _iso(case.lease_expires_at)}
    expires = now + timedelta(minutes=minutes)
    res = session.execute(
        sa.update(Case)
        .where(col(Case.id) == case.id, col(Case.version) == case.version, col(Case.status) == QUEUE_STATUS)
        .where(lease_free(now, owner))
        .values(lease_owner=owner, lease_expires_at=expires, version=Case.version + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if rows_matched(res) != 1:
        raise LeaseError(f"case {case.case_no} was claimed by someone else", field="case_no")
    after = {"lease_owner": owner, "lease_expires_at": expires.isoformat()}
    action = "renew" if case.lease_owner == owner and before["lease_expires_at"] else "claim"
    record(session, case, actor=owner, action=action, at=now, before=before, after=after)
    session.flush()
    session.refresh(case)
    return case


def claim_next(
    session: Session, owner: str, now: datetime, *, minutes: float, filters: dict[str, str] | None = None
) -> Case | None:
    """Claim the first free case in queue order, or return None when the queue is empty."""
    stmt = queue_query(now, filters=filters).limit(1).with_for_update(skip_locked=True)
    case = session.exec(stmt).first()
    if case is None:
        return None
    return _take(session, case, owner, now, minutes)


def claim(session: Session, case: Case, owner: str, now: datetime, *, minutes: float) -> Case:
    """Claim (or renew) one named case."""
    if case.status != QUEUE_STATUS:
        raise LeaseError(f"case {case.case_no} is {case.status}, not waiting for review", field="case_no")
    holder = current_holder(case, now)
    if holder is not None and holder != owner:
        raise LeaseError(
            f"case {case.case_no} is held by {holder} until {_iso(case.lease_expires_at)}", field="case_no"
        )
    return _take(session, case, owner, now, minutes)


def current_holder(case: Case, now: datetime) -> str | None:
    """Who holds a live lease on the case, if anyone."""
    if case.lease_owner and case.lease_expires_at is not None and case.lease_expires_at > now:
        return case.lease_owner
    return None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
