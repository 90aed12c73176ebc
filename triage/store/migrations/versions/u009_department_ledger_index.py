"""The departments ledger reads a covering index led by the department (issue #15).

The 部门 ledger groups every case of a place and period by department. With ``ix_cases_ledger``
(led by ``created_at``) SQLite sorts all rows into a temporary B-tree first (≈ 55 ms at 100,000
cases) and a department's own row scans the whole index. ``ix_cases_department_ledger`` holds the
same columns led by ``department_code``: the grouping walks it in order (≈ 23 ms) and one
department's row reads only its own entries (≈ 4 ms). It widens ``ix_cases_department_created``
(department, created_at), which the department's lists still use as its prefix, so it replaces it.

Revision ID: u009_department_ledger_index
Revises: u008_alert_kinds
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "u009_department_ledger_index"
down_revision = "u008_alert_kinds"
branch_labels = None
depends_on = None

COLUMNS = ["department_code", "created_at", "status", "satisfaction", "resolved_at", "deadline", "grid_code"]


def upgrade() -> None:
    op.create_index("ix_cases_department_ledger", "cases", COLUMNS)
    op.drop_index("ix_cases_department_created", table_name="cases")


def downgrade() -> None:
    op.create_index("ix_cases_department_created", "cases", ["department_code", "created_at"])
    op.drop_index("ix_cases_department_ledger", table_name="cases")
