"""Deadline counts and the notification list (通知): the caller's scope and owned statuses, one store call.

Which cases a role *owns* for deadline purposes is :func:`api.access.deadline_statuses` with
:func:`api.access.scope_of`; the counting and listing are the store's (``triage.store.deadlines``,
``triage.store.notifications``).
"""

from __future__ import annotations

from collections.abc import Sequence

from api import access
from api.security import Principal
from triage.store import notifications as store
from triage.store.deadlines import DeadlineCounts, deadline_counts
from triage.store.service import CaseService


def counts(service: CaseService, user: Principal, ratio: float) -> DeadlineCounts:
    """预警 and 超时 among the active cases the caller owns (the navigation's count)."""
    statuses = access.deadline_statuses(user)
    if statuses is not None and not statuses:
        return DeadlineCounts()
    return deadline_counts(service.db, access.scope_of(user), statuses, service.clock(), ratio)


def unread(service: CaseService, user: Principal) -> int:
    return store.unread_count(
        service.db, user.username, access.scope_of(user), access.deadline_statuses(user)
    )


def listing(
    service: CaseService, user: Principal, *, unread_only: bool, limit: int, offset: int
) -> list[store.Notification]:
    """The caller's alerts, newest first (anyone logged in has a list; it may be empty)."""
    return store.notifications(
        service.db,
        user.username,
        access.scope_of(user),
        access.deadline_statuses(user),
        unread_only=unread_only,
        limit=limit,
        offset=offset,
    )


def mark_read(service: CaseService, user: Principal, ids: Sequence[int] | None) -> int:
    """Mark the caller's alerts read (all when ``ids`` is None); ids outside their list are ignored."""
    return store.mark_read(
        service.db, user.username, access.scope_of(user), access.deadline_statuses(user), service.clock(), ids
    )
