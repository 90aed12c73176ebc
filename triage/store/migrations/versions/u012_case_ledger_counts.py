"""Per-day department figures kept by triggers, for the departments ledger and the headline (#15).

The departments ledger (受理, 办结, 限时办结, 回访, 满意 per department) and the ledger pages'
headline (办结民生实事 M 件，群众满意度 P %) grouped every case of the place and period: ≈ 31 and
22 ms at 100,000 cases on SQLite for all cases, linear in the cases, and together with the page's
other work over the 100 ms budget. ``case_ledger_counts`` holds those sums per local day of
receipt, decided department (``''`` for none), status and satisfaction score (0: not rated), so
the reader applies its own "satisfied" bound; kept exact by triggers on ``cases``
(:mod:`triage.store.rollup_sql`); the ledger reads it unless the filter names a place or the
caller's grids (their cases are few and counted directly). Filled from the existing cases here.

Revision ID: u012_case_ledger_counts
Revises: u011_desk_urgency_index
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa

from triage.store.rollup_sql import Rollup, local_day

revision = "u012_case_ledger_counts"
down_revision = "u011_desk_urgency_index"
branch_labels = None
depends_on = None

TABLE = "case_ledger_counts"
NOT_RATED = 0  # the satisfaction key of cases without a rating (scores are 1–5)


def _values(row: str, dialect: str) -> list[str]:
    """The key and the two counts one case row (``NEW``, ``OLD`` or ``cases``) contributes."""
    return [
        local_day(row, dialect),
        f"coalesce({row}.department_code, '')",
        f"{row}.status",
        f"coalesce({row}.satisfaction, {NOT_RATED})",
        "1",
        f"CASE WHEN {row}.resolved_at <= {row}.deadline THEN 1 ELSE 0 END",
    ]


ROLLUP = Rollup(
    TABLE,
    keys=("day", "department_code", "status", "satisfaction"),
    sums=("cases", "on_time"),
    counted="created_at, status, department_code, resolved_at, deadline, satisfaction",
    values=_values,
)


def upgrade() -> None:
    ROLLUP.install(
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("department_code", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("satisfaction", sa.SmallInteger(), nullable=False),
        sa.Column("cases", sa.Integer(), nullable=False),
        sa.Column("on_time", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    ROLLUP.uninstall()
