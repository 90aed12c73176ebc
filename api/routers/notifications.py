"""Deadline counts and notifications (通知) as JSON: the same actions as the 通知 page.

``GET /api/v1/notifications`` lists the caller's deadline alerts (newest first), ``POST
/api/v1/notifications/read`` marks some (``ids``) or all of them read, ``GET
/api/v1/notifications/counts`` gives the 预警/超时 counts of the cases the caller owns.
The models live here: they are this resource's only shapes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from api.actions import notifications
from api.deps import CurrentUser, ServiceDep, SettingsDep
from api.schemas import ERROR_RESPONSES

router = APIRouter(prefix="/api/v1/notifications", tags=["notifications"], responses=ERROR_RESPONSES)


class NotificationOut(BaseModel):
    id: int
    case_no: str
    kind: str = Field(description="warning (预警: the warning share of the allowed time passed) or overdue")
    alert_status: str = Field(description="The case's status when the alert was raised.")
    status: str = Field(description="The case's status now.")
    priority: str
    deadline: datetime
    created_at: datetime
    read: bool


class NotificationPage(BaseModel):
    items: list[NotificationOut]
    unread: int
    limit: int
    offset: int
    next_offset: int | None


class ReadRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ids: list[Annotated[int, Field(ge=1, le=2**31 - 1)]] | None = Field(
        default=None, max_length=500, description="Alert ids to mark read; omitted or null: all of them."
    )


class ReadResult(BaseModel):
    marked: int


class DeadlineCountsOut(BaseModel):
    warning: int
    overdue: int
    total: int


def _scan(request: Request, *, force: bool = False) -> None:
    monitor = getattr(request.app.state, "deadline_monitor", None)
    if monitor is not None:
        monitor.maybe_scan(force=force)


@router.get("", response_model=NotificationPage)
def list_notifications(
    request: Request,
    service: ServiceDep,
    user: CurrentUser,
    unread: Annotated[bool, Query(description="Only the unread ones.")] = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> NotificationPage:
    _scan(request, force=True)
    rows = notifications.listing(service, user, unread_only=unread, limit=limit, offset=offset)
    items = [
        NotificationOut(
            id=n.id, case_no=n.case_no, kind=n.kind, alert_status=n.alert_status, status=n.status,
            priority=n.priority, deadline=n.deadline, created_at=n.created_at, read=n.read_at is not None,
        )
        for n in rows
    ]  # fmt: skip
    return NotificationPage(
        items=items,
        unread=notifications.unread(service, user),
        limit=limit,
        offset=offset,
        next_offset=offset + limit if len(items) == limit else None,
    )


@router.post("/read", response_model=ReadResult)
def mark_read(body: ReadRequest, service: ServiceDep, user: CurrentUser) -> ReadResult:
    return ReadResult(marked=notifications.mark_read(service, user, body.ids))


@router.get("/counts", response_model=DeadlineCountsOut)
def counts(
    request: Request, service: ServiceDep, user: CurrentUser, settings: SettingsDep
) -> DeadlineCountsOut:
    _scan(request)
    c = notifications.counts(service, user, settings.deadline_warn_ratio)
    return DeadlineCountsOut(warning=c.warning, overdue=c.overdue, total=c.total)
