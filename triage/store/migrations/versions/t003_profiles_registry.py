"""City profiles: model registry (promote/rollback) and shadow suggestions.

Departments carry the active profile's default deadline and the profile they came from; a case keeps
its department suggestion's own probability (auto-dispatch compares it with the profile threshold).

Revision ID: t003_profiles_registry
Revises: t002_case_scope
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "t003_profiles_registry"
down_revision = "t002_case_scope"
branch_labels = None
depends_on = None

DT = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
STATUS_SQL = "status IN ('candidate', 'shadow', 'live', 'retired')"


def upgrade() -> None:
    with op.batch_alter_table("departments") as batch:
        batch.add_column(sa.Column("deadline_hours", sa.Integer, nullable=True))
        batch.add_column(sa.Column("profile", sa.String(64), nullable=True))
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("department_confidence", sa.Float, nullable=True))
    op.create_table(
        "model_versions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("profile", sa.String(64), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("path", sa.String(512), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("metrics", JSON, nullable=True),
        sa.Column("data_fingerprint", sa.String(64), nullable=True),
        sa.Column("registered_by", sa.String(64), nullable=False),
        sa.Column("registered_at", DT, nullable=False),
        sa.Column("promoted_by", sa.String(64), nullable=True),
        sa.Column("promoted_at", DT, nullable=True),
        sa.Column("shadow_since", DT, nullable=True),
        sa.UniqueConstraint("profile", "version", name="uq_model_versions_profile_version"),
        sa.CheckConstraint(STATUS_SQL, name="ck_model_versions_status"),
    )
    op.create_index("ix_model_versions_profile", "model_versions", ["profile"])
    op.create_table(
        "model_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("model_id", sa.Integer, sa.ForeignKey("model_versions.id"), nullable=False),
        sa.Column("profile", sa.String(64), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("at", DT, nullable=False),
        sa.Column("note", sa.Text, nullable=True),
    )
    op.create_index("ix_model_events_model_id", "model_events", ["model_id"])
    op.create_table(
        "shadow_suggestions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("model_id", sa.Integer, sa.ForeignKey("model_versions.id"), nullable=False),
        sa.Column("category", sa.String(64), nullable=True),
        sa.Column("department_code", sa.String(64), nullable=True),
        sa.Column("department", sa.String(128), nullable=True),
        sa.Column("confidence", sa.Float, nullable=False),
        sa.Column("department_confidence", sa.Float, nullable=True),
        sa.Column("created_at", DT, nullable=False),
        sa.UniqueConstraint("case_id", "model_id", name="uq_shadow_case_model"),
    )
    op.create_index("ix_shadow_suggestions_case_id", "shadow_suggestions", ["case_id"])
    op.create_index("ix_shadow_suggestions_model_id", "shadow_suggestions", ["model_id"])


def downgrade() -> None:
    op.drop_table("shadow_suggestions")
    op.drop_table("model_events")
    op.drop_table("model_versions")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("department_confidence")
    with op.batch_alter_table("departments") as batch:
        batch.drop_column("profile")
        batch.drop_column("deadline_hours")
