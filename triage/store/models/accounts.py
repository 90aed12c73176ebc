"""People and their credentials: users, grid membership, API tokens, browser sessions, login throttle."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from triage.store.models.base import dt_field, in_values


class Role(StrEnum):
    OPERATOR = "operator"
    GRID_WORKER = "grid_worker"
    REVIEWER = "reviewer"
    DEPARTMENT = "department"
    DEPUTY = "deputy"
    ADMIN = "admin"


class User(SQLModel, table=True):
    __tablename__ = "users"
    __table_args__ = (sa.CheckConstraint(in_values("role", Role), name="ck_users_role"),)

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    display_name: str = Field(default="", max_length=128)
    role: str = Field(max_length=16)
    department_code: str | None = Field(default=None, foreign_key="departments.code", max_length=64)
    password_hash: str | None = Field(default=None, max_length=256)
    active: bool = True
    created_at: datetime = dt_field(nullable=False)
    # Bumped when the password changes, the account is disabled or enabled, or a token revoked:
    # cached token look-ups compare it, so such changes apply at once in every worker (t001).
    auth_version: int = 0
    last_login_at: datetime | None = dt_field()


class GridMember(SQLModel, table=True):
    """Grid workers and deputies attached to a grid (their scope)."""

    __tablename__ = "grid_members"

    grid_code: str = Field(foreign_key="grids.code", primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="users.id", primary_key=True)


class ApiToken(SQLModel, table=True):
    """Only the SHA-256 of a token is stored; the token itself is shown once."""

    __tablename__ = "api_tokens"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    name: str = Field(default="", max_length=64)
    created_at: datetime = dt_field(nullable=False)
    expires_at: datetime | None = dt_field()
    last_used_at: datetime | None = dt_field()
    revoked_at: datetime | None = dt_field()


class WebSession(SQLModel, table=True):
    """A browser login (t001). The signed cookie carries a random id; only its SHA-256 is stored,
    so logout, a password change or disabling the user ends the session on the server."""

    __tablename__ = "web_sessions"

    id: int | None = Field(default=None, primary_key=True)
    session_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    password_fingerprint: str = Field(max_length=16)  # the password at login: a change ends it
    client_address: str = Field(default="", max_length=64)
    created_at: datetime = dt_field(nullable=False)
    last_seen_at: datetime = dt_field(nullable=False)  # idle timeout; written at most once a minute
    expires_at: datetime = dt_field(nullable=False, index=True)
    revoked_at: datetime | None = dt_field()


class LoginCounter(SQLModel, table=True):
    """Recent failed logins for one throttle key (t001): a client address, an (account, address)
    pair or an account. The key is a SHA-256, so names typed into the form are not stored."""

    __tablename__ = "login_counters"

    key: str = Field(primary_key=True, max_length=64)
    kind: str = Field(max_length=8)  # address | pair | account
    failures: int = 0
    last_failure_at: datetime | None = dt_field(index=True)
    next_allowed_at: datetime | None = dt_field()
    last_success_at: datetime | None = dt_field()  # a pair that once succeeded skips the account delay
