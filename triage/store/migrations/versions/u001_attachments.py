"""Attachments: photos and PDFs of a case (intake, case page, resolution) (issue #13).

``attachments``: one row per stored file — the case it belongs to, the stage it was added at, the
type found from the content, its size, the random storage key of the file and of its thumbnail,
who uploaded it and whether the location metadata was kept at the uploader's request.

Revision ID: u001_attachments
Revises: t003_profiles_registry
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "u001_attachments"
down_revision = "t003_profiles_registry"
branch_labels = None
depends_on = None

DT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "attachments",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("case_no", sa.String(20), nullable=False),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("content_type", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("width", sa.Integer, nullable=True),
        sa.Column("height", sa.Integer, nullable=True),
        sa.Column("storage_key", sa.String(128), nullable=False),
        sa.Column("thumb_key", sa.String(128), nullable=True),
        sa.Column("original_name", sa.String(255), nullable=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("kept_location", sa.Boolean, nullable=False),
        sa.Column("uploaded_by", sa.String(64), nullable=False),
        sa.Column("created_at", DT, nullable=False),
        sa.UniqueConstraint("storage_key"),
        sa.CheckConstraint("stage IN ('intake', 'case', 'resolution')", name="ck_attachments_stage"),
        sa.CheckConstraint("kind IN ('image', 'pdf')", name="ck_attachments_kind"),
    )
    op.create_index("ix_attachments_case", "attachments", ["case_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_attachments_case", table_name="attachments")
    op.drop_table("attachments")
