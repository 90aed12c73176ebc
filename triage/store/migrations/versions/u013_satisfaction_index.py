"""A department's dashboard reads its 回访 scores from an index (issue #15).

The dashboard's satisfaction figure counts the scores of the cases closed in the period. For a
department the scope is ``coalesce(department_code, suggested_department_code)``, which the
partial index ``ix_cases_closed_satisfaction (closed_at, satisfaction)`` does not hold, so every
closed and rated case of the period was read from the table (≈ 39 ms for 30 days at 100,000 cases
on SQLite, against 5 ms for the whole city). The index now carries both department columns.

Revision ID: u013_satisfaction_index
Revises: u012_case_ledger_counts
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "u013_satisfaction_index"
down_revision = "u012_case_ledger_counts"
branch_labels = None
depends_on = None

NAME = "ix_cases_closed_satisfaction"
RATED = sa.text("satisfaction IS NOT NULL")


def _create(columns: list[str]) -> None:
    op.create_index(NAME, "cases", columns, sqlite_where=RATED, postgresql_where=RATED)


def upgrade() -> None:
    op.drop_index(NAME, table_name="cases")
    _create(["closed_at", "satisfaction", "department_code", "suggested_department_code"])


def downgrade() -> None:
    op.drop_index(NAME, table_name="cases")
    _create(["closed_at", "satisfaction"])
