"""Deadline alerts (预警 at a share of the allowed time, 超时 at the deadline) and who has read them (u003).

One alert row per (case, kind), enforced by a unique constraint, so scanners in several workers
(or a page load racing the periodic task) never notify twice. Who sees an alert is decided when it
is read, from the caller's scope and the statuses their role owns (``api.access``), so a user
created later or moved to another department sees the right list without a fan-out table.
The webhook delivery state lives on the alert: a row with ``webhook_next_at`` set is still owed.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from triage.store.models.base import dt_field, in_values


class AlertKind(StrEnum):
    WARNING = "warning"  # 预警: the warning share of the allowed time has passed
    OVERDUE = "overdue"  # 超时: the deadline has passed
    WHISTLE = "whistle"  # 吹哨: the case was escalated to the department, which must report in (u008)
    SUPERVISION = "supervision"  # 督办: a deputy put the case under supervision (u008)


class DeadlineAlert(SQLModel, table=True):
    __tablename__ = "deadline_alerts"
    __table_args__ = (
        sa.UniqueConstraint("case_id", "kind", name="uq_deadline_alerts_case_kind"),
        sa.CheckConstraint(in_values("kind", AlertKind), name="ck_deadline_alerts_kind"),
        sa.Index("ix_deadline_alerts_webhook", "webhook_next_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    case_no: str = Field(max_length=20)
    kind: str = Field(max_length=16)
    status: str = Field(max_length=16)  # the case's status when alerted: whose work it was
    department_code: str | None = Field(default=None, max_length=64)
    priority: str = Field(default="normal", max_length=8)
    deadline: datetime = dt_field(nullable=False)
    created_at: datetime = dt_field(nullable=False, index=True)
    # outgoing webhook: next attempt due (None: nothing owed), attempts made, success time, last error
    webhook_next_at: datetime | None = dt_field()
    webhook_attempts: int = 0
    webhook_sent_at: datetime | None = dt_field()
    webhook_error: str | None = Field(default=None, max_length=500)


class NotificationRead(SQLModel, table=True):
    """A user marked an alert as read (absence means unread)."""

    __tablename__ = "notification_reads"

    alert_id: int = Field(foreign_key="deadline_alerts.id", primary_key=True)
    username: str = Field(max_length=64, primary_key=True)
    read_at: datetime = dt_field(nullable=False)
