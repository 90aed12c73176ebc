"""Case lifecycle (state machine) and the audit trail that records every change.

Main path: pending_review → dispatched (交办, accept/correct) → in_progress (start) →
resolved (办结, resolve) → closed (回访, feedback with satisfaction).
Side exits: pending_review → merged (duplicate of another case) or rejected (with a reason);
dispatched / in_progress → pending_review when the department *returns* the case with a
reason; dispatched → resolved directly; resolved → in_progress when it is reopened.

``returned`` is the *edge* back to review: the case re-enters the queue as pending_review,
with ``return_reason`` and ``returned_count`` set. Every mutation goes through
:func:`change`, which checks the transition, applies the fields and appends an
:class:`AuditEvent` in the caller's transaction, so no change can skip the audit log.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from triage.store.errors import IllegalTransitionError
from triage.store.models import ACTIVE_STATUS_LIST, AuditEvent, Case, CaseStatus

S = CaseStatus
TRANSITIONS: dict[str, frozenset[str]] = {
    S.PENDING_REVIEW: frozenset({S.DISPATCHED, S.MERGED, S.REJECTED}),
    S.DISPATCHED: frozenset({S.IN_PROGRESS, S.RESOLVED, S.PENDING_REVIEW}),
    S.IN_PROGRESS: frozenset({S.RESOLVED, S.PENDING_REVIEW}),
    S.RESOLVED: frozenset({S.CLOSED, S.IN_PROGRESS}),
    S.CLOSED: frozenset(),
    S.MERGED: frozenset(),
    S.REJECTED: frozenset(),
}
# Statuses whose cases can still receive duplicates and count as "open" work.
OPEN_STATUSES = frozenset({S.PENDING_REVIEW, S.DISPATCHED, S.IN_PROGRESS, S.RESOLVED})
# Statuses that can run past their deadline (the overdue query).
ACTIVE_STATUSES = frozenset(S(s) for s in ACTIVE_STATUS_LIST)


def is_active() -> sa.ColumnElement[bool]:
    """``status IN (…)`` with inlined literals in a fixed order (matches partial index ix_cases_overdue)."""
    return col(Case.status).in_([sa.literal_column(repr(s)) for s in ACTIVE_STATUS_LIST])


FINAL_STATUSES = frozenset(s for s, targets in TRANSITIONS.items() if not targets)

# Fields left out of audit snapshots (bulky or derived).
_SNAPSHOT_SKIP = frozenset({"text", "text_masked", "top_k", "explanation", "route_alternatives", "version"})


def allowed_targets(status: str) -> frozenset[str]:
    return TRANSITIONS.get(status, frozenset())


def check_transition(case: Case, to_status: str) -> None:
    """Raise :class:`IllegalTransitionError` naming from/to and the allowed targets."""
    allowed = allowed_targets(case.status)
    if to_status not in allowed:
        raise IllegalTransitionError(case.case_no, case.status, to_status, allowed)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value


def snapshot(case: Case) -> dict[str, Any]:
    """The audit-relevant columns of a case as JSON-ready values."""
    return {
        column.name: _jsonable(getattr(case, column.name))
        for column in Case.__table__.columns  # type: ignore[attr-defined]
        if column.name not in _SNAPSHOT_SKIP
    }


def diff(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    keys = [k for k in after if before.get(k) != after[k]]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


def record(
    session: Session,
    case: Case | None,
    *,
    actor: str,
    action: str,
    at: datetime,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    note: str | None = None,
) -> AuditEvent:
    """Append one audit event (flushes so the case id is known)."""
    if case is not None and case.id is None:
        session.flush()
    event = AuditEvent(
        case_id=case.id if case is not None else None,
        case_no=case.case_no if case is not None else None,
        actor=actor,
        at=at,
        action=action,
        before=before,
        after=after,
        note=note,
    )
    session.add(event)
    return event


def change(
    session: Session,
    case: Case,
    *,
    actor: str,
    action: str,
    at: datetime,
    to_status: str | None = None,
    note: str | None = None,
    details: dict[str, Any] | None = None,
    **fields: Any,
) -> AuditEvent:
    """Apply a change to ``case`` (optionally a status transition) and record it in the audit log.

    The case row's version goes up by one with the flush (optimistic locking), so every
    audit event matches exactly one version of the case. ``details`` (e.g. a reviewer's
    correction against the suggestion) are added to the event's ``after``.
    """
    if to_status is not None:
        check_transition(case, to_status)
        fields["status"] = str(to_status)
    before = snapshot(case)
    for name, value in fields.items():
        setattr(case, name, value)
    case.updated_at = at
    old, new = diff(before, snapshot(case))
    old.pop("updated_at", None)
    new.pop("updated_at", None)
    if details:
        new.update(details)
    event = record(session, case, actor=actor, action=action, at=at, before=old, after=new, note=note)
    session.add(case)
    session.flush()
    return event
