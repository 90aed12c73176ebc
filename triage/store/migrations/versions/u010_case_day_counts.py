"""Per-day case counts kept by triggers, for the dashboard (issue #15).

The dashboard's volume and resolution figures grouped every case of the period by day, category
and status: ≈ 60 ms for 30 days and 150 ms for 90 days at 100,000 cases on SQLite, and linear in
the cases (a large city keeps 5 million orders in 90 days). ``case_day_counts`` holds those groups
per department; triggers on ``cases`` subtract a row's old key and add its new one on every insert,
update of a counted column and delete, so the figures stay exact whatever writes the cases. The
table is filled from the existing cases here.

Keys (see :mod:`triage.store.models.rollups`): the local day (Asia/Shanghai) of ``created_at``, the
decided department or else the suggested one (``''`` for none), the decided category or else the
suggested one or 未分类, the status.

Revision ID: u010_case_day_counts
Revises: u009_department_ledger_index
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa

from triage.store.rollup_sql import Rollup, local_day

revision = "u010_case_day_counts"
down_revision = "u009_department_ledger_index"
branch_labels = None
depends_on = None

TABLE = "case_day_counts"
COUNTED = "created_at, status, category, suggested_category, department_code, suggested_department_code, resolved_at, deadline"  # noqa: E501


def _values(row: str, dialect: str) -> list[str]:
    """The key and the four counts one case row (``NEW``, ``OLD`` or ``cases``) contributes."""
    if dialect == "postgresql":
        seconds = f"round(extract(epoch FROM {row}.resolved_at - {row}.created_at))::bigint"
    else:
        seconds = (
            f"CAST(round((julianday({row}.resolved_at) - julianday({row}.created_at)) * 86400) AS INTEGER)"
        )
    return [
        local_day(row, dialect),
        f"coalesce({row}.department_code, {row}.suggested_department_code, '')",
        f"coalesce({row}.category, {row}.suggested_category, '未分类')",
        f"{row}.status",
        "1",
        f"CASE WHEN {row}.resolved_at IS NOT NULL THEN 1 ELSE 0 END",
        f"coalesce({seconds}, 0)",
        f"CASE WHEN {row}.resolved_at <= {row}.deadline THEN 1 ELSE 0 END",
    ]


ROLLUP = Rollup(
    TABLE,
    keys=("day", "department_code", "category", "status"),
    sums=("cases", "resolved", "resolve_seconds", "on_time"),
    counted=COUNTED,
    values=_values,
)


def upgrade() -> None:
    ROLLUP.install(
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("department_code", sa.String(64), nullable=False),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("cases", sa.Integer(), nullable=False),
        sa.Column("resolved", sa.Integer(), nullable=False),
        sa.Column("resolve_seconds", sa.BigInteger(), nullable=False),
        sa.Column("on_time", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    ROLLUP.uninstall()
