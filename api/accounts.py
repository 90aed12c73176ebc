"""Account management for the CLI (``triage users …``) and the admin users page.

Disabling a user, changing a password or revoking a token bumps ``users.auth_version`` and, for
the first two, revokes the user's browser sessions in the same transaction: cached token
look-ups compare the version on every request, so the change applies at once in every worker.
The last active administrator cannot be disabled (nobody could manage accounts any more).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from api.security import (
    check_department_known,
    check_password_policy,
    check_role_scope,
    hash_password,
    join_grids,
)
from triage.store.db import Database
from triage.store.errors import ValidationError
from triage.store.models import ApiToken, GridMember, Role, User
from triage.store.sessions import live_session_counts, revoke_user_sessions

MAX_ID = 2**31 - 1  # ids are 32-bit integers on PostgreSQL: larger ones cannot exist


@dataclass(frozen=True, slots=True)
class UserInfo:
    """One row of ``triage users list`` and of the admin users page."""

    id: int
    username: str
    display_name: str
    role: str
    department_code: str | None
    grids: tuple[str, ...]
    active: bool
    has_password: bool
    created_at: datetime
    last_login_at: datetime | None
    live_tokens: int
    token_last_used_at: datetime | None
    live_sessions: int


@dataclass(frozen=True, slots=True)
class TokenInfo:
    id: int
    name: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None

    def live(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


def _user(session: Session, username: str) -> User:
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None:
        raise ValidationError(f"no user named {username!r}", code="unknown_user", field="name")
    return user


def list_users(
    db: Database, *, role: str | None = None, active: bool | None = None, user_id: int | None = None
) -> list[UserInfo]:
    """Every user (optionally one role, only active/disabled ones, or one id), by login name."""
    if role is not None and role not in {r.value for r in Role}:
        raise ValidationError(
            f"unknown role {role!r}; allowed: {', '.join(r.value for r in Role)}",
            code="unknown_role",
            field="role",
        )
    now = datetime.now(UTC)
    stmt = select(User).order_by(User.username)
    if role is not None:
        stmt = stmt.where(User.role == role)
    if active is not None:
        stmt = stmt.where(User.active == active)
    if user_id is not None:
        stmt = stmt.where(User.id == (user_id if 0 < user_id <= MAX_ID else 0))
    expires = col(ApiToken.expires_at)
    live = sa.and_(col(ApiToken.revoked_at).is_(None), sa.or_(expires.is_(None), expires > now))
    token_stmt = sa.select(
        col(ApiToken.user_id),
        sa.func.count().filter(live),
        sa.func.max(col(ApiToken.last_used_at)),
    ).group_by(col(ApiToken.user_id))
    with db.session() as session:
        users = session.exec(stmt).all()
        tokens = {uid: (int(n or 0), last) for uid, n, last in session.execute(token_stmt).all()}
        grids: dict[int, list[str]] = {}
        for code, uid in session.execute(sa.select(col(GridMember.grid_code), col(GridMember.user_id))).all():
            grids.setdefault(uid, []).append(code)
    sessions = live_session_counts(db, now)
    out = []
    for u in users:
        assert u.id is not None
        n_tokens, last_used = tokens.get(u.id, (0, None))
        out.append(
            UserInfo(
                u.id, u.username, u.display_name, u.role, u.department_code,
                tuple(sorted(grids.get(u.id, []))), u.active, bool(u.password_hash), u.created_at,
                u.last_login_at, n_tokens, last_used, sessions.get(u.id, 0),
            )
        )  # fmt: skip
    return out


def _keep_an_admin(session: Session, user: User) -> None:
    """Refuse to disable or demote the last active administrator (nobody could manage accounts)."""
    if user.role != Role.ADMIN.value:
        return
    others = session.exec(
        select(sa.func.count())
        .select_from(User)
        .where(User.role == Role.ADMIN.value, User.active, User.id != user.id)  # type: ignore[arg-type]
    ).one()
    if not others:
        raise ValidationError(
            f"{user.username!r} is the last active admin; enable or create another admin first",
            code="last_admin",
            field="name",
        )


def set_role(
    db: Database, username: str, role: str, *, department_code: str | None = None, grids: Sequence[str] = ()
) -> User:
    """Give a user another role and scope (department, grids). Their sessions end and cached
    tokens are re-read, so the new rights apply to the very next request."""
    check_role_scope(role, department_code, grids)
    with db.session(write=True) as session:
        user = _user(session, username)
        if role != user.role:
            _keep_an_admin(session, user)
        check_department_known(session, department_code)
        assert user.id is not None
        user.role = role
        user.department_code = department_code if role == Role.DEPARTMENT.value else None
        user.auth_version += 1
        session.add(user)
        session.execute(sa.delete(GridMember).where(col(GridMember.user_id) == user.id))
        join_grids(session, user.id, grids)
        revoke_user_sessions(session, user.id)
    return user


def set_active(db: Database, username: str, active: bool) -> User:
    """Enable or disable a user; disabling ends their sessions and tokens at once."""
    with db.session(write=True) as session:
        user = _user(session, username)
        if not active and user.active:
            _keep_an_admin(session, user)
        if user.active != active:
            user.active = active
            user.auth_version += 1
            session.add(user)
        if not active:
            assert user.id is not None
            revoke_user_sessions(session, user.id)
    return user


def set_password(db: Database, username: str, password: str, *, min_length: int) -> User:
    """Set a new password: every browser session of the user ends (API tokens stay)."""
    check_password_policy(password, min_length)
    digest = hash_password(password)
    with db.session(write=True) as session:
        user = _user(session, username)
        user.password_hash = digest
        user.auth_version += 1
        session.add(user)
        assert user.id is not None
        revoke_user_sessions(session, user.id)
    return user


def list_tokens(db: Database, username: str) -> list[TokenInfo]:
    """A user's API tokens, newest first (never the token itself: only its hash is stored)."""
    with db.session() as session:
        user = _user(session, username)
        rows = session.exec(
            select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())  # type: ignore[union-attr]
        ).all()
    return [
        TokenInfo(t.id or 0, t.name, t.created_at, t.expires_at, t.last_used_at, t.revoked_at) for t in rows
    ]


def revoke_token(db: Database, token_id: int, *, username: str | None = None) -> TokenInfo:
    """Revoke one token by id (optionally checking whose it is); it stops at once."""
    with db.session(write=True) as session:
        token = session.get(ApiToken, token_id) if 0 < token_id <= MAX_ID else None
        owner = session.get(User, token.user_id) if token is not None else None
        if token is None or owner is None or (username is not None and owner.username != username):
            whose = f" of user {username!r}" if username is not None else ""
            raise ValidationError(f"no API token {token_id}{whose}", code="unknown_token", field="token_id")
        if token.revoked_at is None:
            token.revoked_at = datetime.now(UTC)
            owner.auth_version += 1
            session.add_all([token, owner])
    return TokenInfo(
        token.id or 0, token.name, token.created_at, token.expires_at, token.last_used_at, token.revoked_at
    )
