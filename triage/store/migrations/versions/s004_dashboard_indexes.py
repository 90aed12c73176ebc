"""Indexes that let the dashboard (统计看板) and the 办结清单 read indexes instead of case rows.

* ``ix_cases_period``: the period summary scans the cases received in a window by day,
  category and status (optionally one department's); with every column it reads in the index
  the scan never touches the wide case rows (texts, JSON).
* ``ix_cases_status_department``: open and overdue cases per department, from the index alone.
* ``ix_cases_closed_satisfaction``: 回访 scores of the cases closed in a window (was a full scan).
* ``ix_cases_department_resolved``: one department's newest completed cases (its 办结清单 and
  the dashboard's 最近办结) in ``resolved_at`` order, without sorting all of its cases.

Revision ID: s004
Revises: r004_rereview (the re-review migration; before it, s003)
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "s004"
down_revision = "r004_rereview"
branch_labels = None
depends_on = None

PERIOD_COLUMNS = [
    "created_at",
    "status",
    "category",
    "suggested_category",
    "department_code",
    "suggested_department_code",
    "resolved_at",
    "deadline",
]
SCORED = sa.text("satisfaction IS NOT NULL")


def upgrade() -> None:
    op.create_index("ix_cases_period", "cases", PERIOD_COLUMNS)
    op.create_index(
        "ix_cases_status_department",
        "cases",
        ["status", "department_code", "suggested_department_code", "deadline"],
    )
    op.create_index(
        "ix_cases_closed_satisfaction",
        "cases",
        ["closed_at", "satisfaction"],
        sqlite_where=SCORED,
        postgresql_where=SCORED,
    )
    op.create_index("ix_cases_department_resolved", "cases", ["department_code", "resolved_at"])


def downgrade() -> None:
    for name in (
        "ix_cases_department_resolved",
        "ix_cases_closed_satisfaction",
        "ix_cases_status_department",
        "ix_cases_period",
    ):
        op.drop_index(name, table_name="cases")
