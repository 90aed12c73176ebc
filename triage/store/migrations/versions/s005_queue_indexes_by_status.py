"""Queue indexes lead with ``status`` instead of being partial on it.

SQLite plans without statistics: for ``status = 'pending_review' … ORDER BY priority_rank,
deadline, confidence, id`` it preferred any index with ``status`` as its first column (s003's
``ix_cases_status_created``, s004's ``ix_cases_status_department``) over the partial queue index,
then sorted every pending case — the first queue page took 140 ms at 100,000 cases instead of a
few. With ``status`` as the first column the queue index serves both the equality and the order,
so every planner takes it, whatever other status indexes exist. Same for the lease count.

Revision ID: s005
Revises: s004
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "s005"
down_revision = "s004"
branch_labels = None
depends_on = None

QUEUE = ["priority_rank", "deadline", "confidence", "id"]
PENDING = sa.text("status = 'pending_review'")


def upgrade() -> None:
    op.drop_index("ix_cases_queue", table_name="cases")
    op.drop_index("ix_cases_queue_leases", table_name="cases")
    op.create_index("ix_cases_queue", "cases", ["status", *QUEUE])
    op.create_index("ix_cases_queue_leases", "cases", ["status", "lease_expires_at"])


def downgrade() -> None:
    op.drop_index("ix_cases_queue_leases", table_name="cases")
    op.drop_index("ix_cases_queue", table_name="cases")
    op.create_index("ix_cases_queue", "cases", QUEUE, sqlite_where=PENDING, postgresql_where=PENDING)
    op.create_index(
        "ix_cases_queue_leases", "cases", ["lease_expires_at"], sqlite_where=PENDING, postgresql_where=PENDING
    )
