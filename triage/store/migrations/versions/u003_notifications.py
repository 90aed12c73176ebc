"""Deadline warnings and notifications per user (issue #13).

``deadline_alerts``: one row per (case, kind) — 预警 (warning) or 超时 (overdue) — written by the
deadline scanner, carrying the outgoing webhook's delivery state; ``notification_reads``: which
user has read which alert (absence is unread).

Revision ID: u003_notifications
Revises: u002_case_search
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "u003_notifications"
down_revision = "u002_case_search"
branch_labels = None
depends_on = None

DT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "deadline_alerts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("case_no", sa.String(20), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("department_code", sa.String(64), nullable=True),
        sa.Column("priority", sa.String(8), nullable=False),
        sa.Column("deadline", DT, nullable=False),
        sa.Column("created_at", DT, nullable=False),
        sa.Column("webhook_next_at", DT, nullable=True),
        sa.Column("webhook_attempts", sa.Integer, nullable=False),
        sa.Column("webhook_sent_at", DT, nullable=True),
        sa.Column("webhook_error", sa.String(500), nullable=True),
        sa.UniqueConstraint("case_id", "kind", name="uq_deadline_alerts_case_kind"),
        sa.CheckConstraint("kind IN ('warning', 'overdue')", name="ck_deadline_alerts_kind"),
    )
    op.create_index("ix_deadline_alerts_case_id", "deadline_alerts", ["case_id"])
    op.create_index("ix_deadline_alerts_created_at", "deadline_alerts", ["created_at"])
    op.create_index("ix_deadline_alerts_webhook", "deadline_alerts", ["webhook_next_at"])
    op.create_table(
        "notification_reads",
        sa.Column("alert_id", sa.Integer, sa.ForeignKey("deadline_alerts.id"), primary_key=True),
        sa.Column("username", sa.String(64), primary_key=True),
        sa.Column("read_at", DT, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("notification_reads")
    op.drop_index("ix_deadline_alerts_webhook", table_name="deadline_alerts")
    op.drop_index("ix_deadline_alerts_created_at", table_name="deadline_alerts")
    op.drop_index("ix_deadline_alerts_case_id", table_name="deadline_alerts")
    op.drop_table("deadline_alerts")
