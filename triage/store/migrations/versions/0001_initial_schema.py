"""Initial schema: departments, grids, users and tokens, cases, feedback, idempotency keys, audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

DT = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
QUEUE_WHERE = sa.text("status = 'pending_review'")
OVERDUE_WHERE = sa.text("status IN ('pending_review', 'dispatched', 'in_progress')")
STATUSES = "'pending_review', 'dispatched', 'in_progress', 'resolved', 'closed', 'merged', 'rejected'"
SOURCES = "'hotline', 'grid', 'deputy', 'web', 'open311', 'batch'"
ROLES = "'operator', 'grid_worker', 'reviewer', 'department', 'deputy', 'admin'"


def s(length: int) -> sa.String:
    return sa.String(length)


def upgrade() -> None:
    op.create_table(
        "departments",
        sa.Column("code", s(64), primary_key=True),
        sa.Column("name", s(128), nullable=False),
        sa.Column("level", s(16), nullable=False),
        sa.Column("parent_code", s(64), sa.ForeignKey("departments.code"), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "grids",
        sa.Column("code", s(64), primary_key=True),
        sa.Column("name", s(128), nullable=False),
        sa.Column("community", s(128), nullable=False),
        sa.Column("street", s(128), nullable=False),
    )
    op.create_index("ix_grids_community", "grids", ["community"])
    op.create_index("ix_grids_street", "grids", ["street"])
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("username", s(64), nullable=False, unique=True),
        sa.Column("display_name", s(128), nullable=False),
        sa.Column("role", s(16), nullable=False),
        sa.Column("department_code", s(64), sa.ForeignKey("departments.code"), nullable=True),
        sa.Column("password_hash", s(256), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", DT, nullable=False),
        sa.CheckConstraint(f"role IN ({ROLES})", name="ck_users_role"),
    )
    op.create_table(
        "grid_members",
        sa.Column("grid_code", s(64), sa.ForeignKey("grids.code"), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), primary_key=True),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("token_hash", s(64), nullable=False, unique=True),
        sa.Column("name", s(64), nullable=False),
        sa.Column("created_at", DT, nullable=False),
        sa.Column("expires_at", DT, nullable=True),
        sa.Column("last_used_at", DT, nullable=True),
        sa.Column("revoked_at", DT, nullable=True),
    )
    op.create_index("ix_api_tokens_user_id", "api_tokens", ["user_id"])
    op.create_table(
        "case_counters",
        sa.Column("day", s(8), primary_key=True),
        sa.Column("last_seq", sa.Integer(), nullable=False),
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("case_no", s(20), nullable=False, unique=True),
        sa.Column("title", s(200), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("text_masked", sa.Text(), nullable=False),
        sa.Column("source", s(16), nullable=False),
        sa.Column("reporter_name", s(64), nullable=True),
        sa.Column("reporter_contact", s(64), nullable=True),
        sa.Column("grid_code", s(64), nullable=True),
        sa.Column("community", s(128), nullable=True),
        sa.Column("street", s(128), nullable=True),
        sa.Column("address", s(256), nullable=True),
        sa.Column("created_at", DT, nullable=False),
        sa.Column("updated_at", DT, nullable=False),
        sa.Column("status", s(16), nullable=False),
        sa.Column("category", s(64), nullable=True),
        sa.Column("subcategory", s(64), nullable=True),
        sa.Column("department_code", s(64), nullable=True),
        sa.Column("department", s(128), nullable=True),
        sa.Column("level", s(16), nullable=True),
        sa.Column("priority", s(8), nullable=False),
        sa.Column("priority_rank", sa.Integer(), nullable=False),
        sa.Column("deadline_hours", sa.Integer(), nullable=False),
        sa.Column("deadline", DT, nullable=False),
        sa.Column("requirement", sa.Text(), nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("satisfaction", sa.Integer(), nullable=True),
        sa.Column("duplicate_of", s(20), sa.ForeignKey("cases.case_no"), nullable=True),
        sa.Column("duplicate_count", sa.Integer(), nullable=False),
        sa.Column("duplicate_candidates", JSON, nullable=True),
        sa.Column("suggested_category", s(64), nullable=True),
        sa.Column("suggested_subcategory", s(64), nullable=True),
        sa.Column("suggested_department_code", s(64), nullable=True),
        sa.Column("suggested_department", s(128), nullable=True),
        sa.Column("suggested_level", s(16), nullable=True),
        sa.Column("suggested_priority", s(8), nullable=True),
        sa.Column("suggested_deadline_hours", sa.Integer(), nullable=True),
        sa.Column("model_category", s(64), nullable=True),
        sa.Column("model_version", s(64), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("needs_review", sa.Boolean(), nullable=False),
        sa.Column("top_k", JSON, nullable=True),
        sa.Column("explanation", JSON, nullable=True),
        sa.Column("route_reason", JSON, nullable=True),
        sa.Column("route_alternatives", JSON, nullable=True),
        sa.Column("reviewed_by", s(64), nullable=True),
        sa.Column("reviewed_at", DT, nullable=True),
        sa.Column("corrected", sa.Boolean(), nullable=False),
        sa.Column("dispatched_by", s(64), nullable=True),
        sa.Column("dispatched_at", DT, nullable=True),
        sa.Column("started_at", DT, nullable=True),
        sa.Column("resolved_by", s(64), nullable=True),
        sa.Column("resolved_at", DT, nullable=True),
        sa.Column("closed_at", DT, nullable=True),
        sa.Column("reject_reason", sa.Text(), nullable=True),
        sa.Column("return_reason", sa.Text(), nullable=True),
        sa.Column("returned_count", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("lease_owner", s(64), nullable=True),
        sa.Column("lease_expires_at", DT, nullable=True),
        sa.CheckConstraint(f"status IN ({STATUSES})", name="ck_cases_status"),
        sa.CheckConstraint(f"source IN ({SOURCES})", name="ck_cases_source"),
    )
    op.create_index(
        "ix_cases_queue",
        "cases",
        ["priority_rank", "deadline", "confidence", "id"],
        sqlite_where=QUEUE_WHERE,
        postgresql_where=QUEUE_WHERE,
    )
    op.create_index(
        "ix_cases_queue_leases",
        "cases",
        ["lease_expires_at"],
        sqlite_where=QUEUE_WHERE,
        postgresql_where=QUEUE_WHERE,
    )
    op.create_index(
        "ix_cases_overdue", "cases", ["deadline"], sqlite_where=OVERDUE_WHERE, postgresql_where=OVERDUE_WHERE
    )
    for column in ("department_code", "grid_code", "community", "street"):
        op.create_index(f"ix_cases_{column.removesuffix('_code')}_created", "cases", [column, "created_at"])
    for column in ("created_at", "dispatched_at", "resolved_at", "reviewed_at", "duplicate_of"):
        op.create_index(f"ix_cases_{column}", "cases", [column])
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("satisfaction", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_by", s(64), nullable=True),
        sa.Column("created_at", DT, nullable=False),
        sa.CheckConstraint("satisfaction BETWEEN 1 AND 5", name="ck_feedback_satisfaction"),
    )
    op.create_index("ix_feedback_case_id", "feedback", ["case_id"])
    op.create_table(
        "idempotency_keys",
        sa.Column("key", s(128), primary_key=True),
        sa.Column("request_hash", s(64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response", JSON, nullable=True),
        sa.Column("created_at", DT, nullable=False),
    )
    op.create_index("ix_idempotency_keys_created_at", "idempotency_keys", ["created_at"])
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id"), nullable=True),
        sa.Column("case_no", s(20), nullable=True),
        sa.Column("actor", s(64), nullable=False),
        sa.Column("at", DT, nullable=False),
        sa.Column("action", s(32), nullable=False),
        sa.Column("before", JSON, nullable=True),
        sa.Column("after", JSON, nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
    )
    op.create_index("ix_audit_events_case", "audit_events", ["case_id", "id"])
    op.create_index("ix_audit_events_at", "audit_events", ["at"])
    _append_only_audit()


def _append_only_audit() -> None:
    """Triggers that refuse UPDATE and DELETE on the audit log."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'audit_events is append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
            "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_events_no_{verb.lower()} BEFORE {verb} ON audit_events "
                "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events")
        op.execute("DROP FUNCTION IF EXISTS audit_events_append_only()")
    for table in (
        "audit_events",
        "idempotency_keys",
        "feedback",
        "cases",
        "case_counters",
        "api_tokens",
        "grid_members",
        "users",
        "grids",
        "departments",
    ):
        op.drop_table(table)
