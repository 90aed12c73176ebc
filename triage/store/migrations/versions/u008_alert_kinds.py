"""吹哨 and 督办 reach the department's 通知 list (issue #15): two more kinds of ``deadline_alerts``.

The kinds are checked by ``ck_deadline_alerts_kind``; SQLite cannot alter a CHECK constraint, so
its table is rebuilt in batch mode (rows, indexes and the unique key are kept).

Revision ID: u008_alert_kinds
Revises: u007_ledger_index
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "u008_alert_kinds"
down_revision = "u007_ledger_index"
branch_labels = None
depends_on = None

OLD = "kind IN ('warning', 'overdue')"
NEW = "kind IN ('warning', 'overdue', 'whistle', 'supervision')"


def _replace(check: str) -> None:
    with op.batch_alter_table("deadline_alerts", recreate="auto") as batch:
        batch.drop_constraint("ck_deadline_alerts_kind", type_="check")
        batch.create_check_constraint("ck_deadline_alerts_kind", check)


def upgrade() -> None:
    _replace(NEW)


def downgrade() -> None:
    op.execute(
        "DELETE FROM notification_reads WHERE alert_id IN "
        "(SELECT id FROM deadline_alerts WHERE kind IN ('whistle', 'supervision'))"
    )
    op.execute("DELETE FROM deadline_alerts WHERE kind IN ('whistle', 'supervision')")
    _replace(OLD)
