"""A grid's ledger figures read a covering index led by the grid (issue #15).

Grid workers and deputies always read their own grid. Its headline (办结 M 件, 满意度 P %) and the
departments ledger's figures for a grid need status, 回访 score, resolution time, deadline and
department of the grid's cases; ``ix_cases_grid_created`` (grid, created_at) holds none of them,
so PostgreSQL scanned all of ``ix_cases_ledger`` (grid last) for 2,434 cases of one grid at
100,000 (7.4 ms) and SQLite read the rows. ``ix_cases_grid_ledger`` holds those columns led by the
grid; the grid's lists still use its (grid, created_at) prefix, so it replaces the narrow one.

Revision ID: u014_grid_ledger_index
Revises: u013_satisfaction_index
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "u014_grid_ledger_index"
down_revision = "u013_satisfaction_index"
branch_labels = None
depends_on = None

COLUMNS = ["grid_code", "created_at", "status", "satisfaction", "resolved_at", "deadline", "department_code"]


def upgrade() -> None:
    op.create_index("ix_cases_grid_ledger", "cases", COLUMNS)
    op.drop_index("ix_cases_grid_created", table_name="cases")


def downgrade() -> None:
    op.create_index("ix_cases_grid_created", "cases", ["grid_code", "created_at"])
    op.drop_index("ix_cases_grid_ledger", table_name="cases")
