"""Accounts and sessions: server-side sessions, login throttle, token last use, user disable.

``web_sessions`` makes browser sessions revocable (logout, password change, disabled user) with
an idle timeout; ``login_counters`` holds the login throttle every worker shares;
``users.auth_version`` lets cached token look-ups notice a disable or revoke at once, and
``users.last_login_at`` is shown on the admin users page. ``api_tokens.last_used_at`` exists
since 0001 and is now written.

Revision ID: t001_accounts_sessions
Revises: s005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "t001_accounts_sessions"
down_revision = "s005"
branch_labels = None
depends_on = None

DT = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("auth_version", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("last_login_at", DT, nullable=True))
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("session_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("password_fingerprint", sa.String(16), nullable=False),
        sa.Column("client_address", sa.String(64), nullable=False),
        sa.Column("created_at", DT, nullable=False),
        sa.Column("last_seen_at", DT, nullable=False),
        sa.Column("expires_at", DT, nullable=False),
        sa.Column("revoked_at", DT, nullable=True),
    )
    op.create_index("ix_web_sessions_user_id", "web_sessions", ["user_id"])
    op.create_index("ix_web_sessions_expires_at", "web_sessions", ["expires_at"])
    op.create_table(
        "login_counters",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", DT, nullable=True),
        sa.Column("next_allowed_at", DT, nullable=True),
        sa.Column("last_success_at", DT, nullable=True),
    )
    op.create_index("ix_login_counters_last_failure_at", "login_counters", ["last_failure_at"])


def downgrade() -> None:
    op.drop_index("ix_login_counters_last_failure_at", table_name="login_counters")
    op.drop_table("login_counters")
    op.drop_index("ix_web_sessions_expires_at", table_name="web_sessions")
    op.drop_index("ix_web_sessions_user_id", table_name="web_sessions")
    op.drop_table("web_sessions")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("last_login_at")
        batch.drop_column("auth_version")
