"""Batch jobs: batch_jobs, case_suggestions (reclassify history), case_imports (idempotent import).

Revision ID: b001
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "b001"
down_revision = "0001"
branch_labels = None
depends_on = None

DT = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "batch_jobs",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("params", JSON, nullable=True),
        sa.Column("checkpoint", JSON, nullable=True),
        sa.Column("progress", JSON, nullable=True),
        sa.Column("summary", JSON, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("model_version", sa.String(64), nullable=True),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", DT, nullable=False),
        sa.Column("updated_at", DT, nullable=False),
        sa.Column("finished_at", DT, nullable=True),
    )
    op.create_index("ix_batch_jobs_kind", "batch_jobs", ["kind"])
    op.create_index("ix_batch_jobs_status", "batch_jobs", ["status"])

    op.create_table(
        "case_suggestions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("job_id", sa.String(40), sa.ForeignKey("batch_jobs.id"), nullable=False),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("case_no", sa.String(20), nullable=False),
        sa.Column("created_at", DT, nullable=False),
        sa.Column("model_version", sa.String(64), nullable=False),
        sa.Column("category", sa.String(64), nullable=True),
        sa.Column("subcategory", sa.String(64), nullable=True),
        sa.Column("department_code", sa.String(64), nullable=True),
        sa.Column("department", sa.String(128), nullable=True),
        sa.Column("level", sa.String(16), nullable=True),
        sa.Column("priority", sa.String(8), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("needs_review", sa.Boolean(), nullable=False),
        sa.Column("top_k", JSON, nullable=True),
        sa.Column("previous_model_version", sa.String(64), nullable=True),
        sa.Column("previous_category", sa.String(64), nullable=True),
        sa.Column("previous_department_code", sa.String(64), nullable=True),
        sa.Column("previous_confidence", sa.Float(), nullable=True),
        sa.Column("decision_category", sa.String(64), nullable=True),
        sa.Column("case_status", sa.String(16), nullable=False),
        sa.Column("changed", sa.Boolean(), nullable=False),
        sa.Column("applied", sa.Boolean(), nullable=False),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.UniqueConstraint("job_id", "case_id", name="uq_case_suggestions_job_case"),
    )
    op.create_index("ix_case_suggestions_job_id", "case_suggestions", ["job_id"])
    op.create_index("ix_case_suggestions_case_id", "case_suggestions", ["case_id"])
    op.create_index("ix_case_suggestions_model_version", "case_suggestions", ["model_version"])
    op.create_index("ix_case_suggestions_flagged", "case_suggestions", ["flagged"])

    op.create_table(
        "case_imports",
        sa.Column("source_ref", sa.String(200), primary_key=True),
        sa.Column("text_hash", sa.String(64), nullable=False),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id"), nullable=True),
        sa.Column("case_no", sa.String(20), nullable=True),
        sa.Column("job_id", sa.String(40), nullable=False),
        sa.Column("imported_at", DT, nullable=False),
        sa.Column("duplicate_of", sa.String(200), nullable=True),
    )
    op.create_index("ix_case_imports_text_hash", "case_imports", ["text_hash"])
    op.create_index("ix_case_imports_case_id", "case_imports", ["case_id"])
    op.create_index("ix_case_imports_job_id", "case_imports", ["job_id"])


def downgrade() -> None:
    for table in ("case_imports", "case_suggestions", "batch_jobs"):
        op.drop_table(table)
