"""Accounts: what administrators do to users (create, change the role, disable, enable, reset a
password, revoke API tokens) and the one thing every user does to their own account (change the password).

The same functions as ``triage users …`` (:mod:`api.accounts`), so a change made on a page
stops the user's sessions and tokens at once, as from the CLI.
"""

from __future__ import annotations

from collections.abc import Sequence

from api import access
from api import accounts as store
from api.security import Principal, create_user
from triage.store.db import Database
from triage.store.models import User


def users(db: Database, user: Principal, *, user_id: int | None = None) -> list[store.UserInfo]:
    """Every user by login name, or the one with ``user_id`` (an empty list: no such user)."""
    access.require(user, access.ADMIN, "manage users")
    return store.list_users(db, user_id=user_id)


def tokens(db: Database, user: Principal, username: str) -> list[store.TokenInfo]:
    access.require(user, access.ADMIN, "manage users")
    return store.list_tokens(db, username)


def create(
    db: Database,
    user: Principal,
    username: str,
    role: str,
    *,
    department_code: str | None,
    grids: Sequence[str],
    password: str | None,
    display_name: str,
    min_length: int,
) -> tuple[User, str]:
    """A new account and its first API token (the caller shows the token once)."""
    access.require(user, access.ADMIN, "manage users")
    return create_user(
        db, username, role, department_code=department_code, grids=grids, password=password,
        display_name=display_name, min_password_length=min_length,
    )  # fmt: skip


def set_role(
    db: Database,
    user: Principal,
    username: str,
    role: str,
    *,
    department_code: str | None,
    grids: Sequence[str],
) -> User:
    """Another role and scope for a user (never the last active admin's demotion)."""
    access.require(user, access.ADMIN, "manage users")
    return store.set_role(db, username, role, department_code=department_code, grids=grids)


def set_active(db: Database, user: Principal, username: str, active: bool) -> User:
    """Enable or disable a user (never oneself: see the page; never the last active admin)."""
    access.require(user, access.ADMIN, "manage users")
    return store.set_active(db, username, active)


def reset_password(db: Database, user: Principal, username: str, password: str, *, min_length: int) -> User:
    """An administrator sets a user's password: every browser session of theirs ends."""
    access.require(user, access.ADMIN, "manage users")
    return store.set_password(db, username, password, min_length=min_length)


def revoke_token(db: Database, user: Principal, token_id: int, username: str) -> store.TokenInfo:
    access.require(user, access.ADMIN, "manage users")
    return store.revoke_token(db, token_id, username=username)


def change_own_password(db: Database, user: Principal, password: str, *, min_length: int) -> User:
    """Any logged-in user changes their own password (after proving the current one)."""
    return store.set_password(db, user.username, password, min_length=min_length)
