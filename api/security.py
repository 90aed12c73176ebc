"""API tokens and passwords.

Tokens are 256-bit random strings shown once; only their SHA-256 is stored (a fast hash
is right for high-entropy secrets and keeps per-request verification cheap). Passwords,
low-entropy by nature, use scrypt with a per-user salt.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlmodel import Session, select

from triage.store.db import Database
from triage.store.errors import ValidationError
from triage.store.models import ApiToken, Department, Grid, GridMember, Role, User

TOKEN_PREFIX = "pt_"
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller: role and scope (department, grids) for access checks."""

    id: int
    username: str
    role: str
    department_code: str | None = None
    grids: tuple[str, ...] = field(default_factory=tuple)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN.value


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str | None) -> bool:
    if not stored:
        return False
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        got = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got.hex(), digest)


def load_principal(session: Session, user: User) -> Principal:
    grids = session.exec(select(GridMember.grid_code).where(GridMember.user_id == user.id)).all()
    assert user.id is not None
    return Principal(user.id, user.username, user.role, user.department_code, tuple(sorted(grids)))


def authenticate_token(session: Session, token: str) -> Principal | None:
    """The active user behind a token, or None (unknown, revoked, expired or inactive)."""
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == hash_token(token))).first()
    now = datetime.now(UTC)
    if row is None or row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    return load_principal(session, user)


def issue_token(session: Session, user: User, name: str = "") -> str:
    """Create a token for ``user``; the caller shows it once (only the hash is kept)."""
    token = new_token()
    assert user.id is not None
    session.add(
        ApiToken(user_id=user.id, token_hash=hash_token(token), name=name, created_at=datetime.now(UTC))
    )
    return token


class TokenCache:
    """Short-lived cache of verified tokens so hot endpoints skip one query per request.

    A revoked token stops working within ``ttl`` seconds.
    """

    def __init__(self, ttl: float = 10.0, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def get(self, token: str) -> Principal | None:
        key = hash_token(token)
        with self._lock:
            hit = self._entries.get(key)
        if hit is None or hit[0] < time.monotonic():
            return None
        return hit[1]

    def put(self, token: str, principal: Principal) -> None:
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[hash_token(token)] = (time.monotonic() + self.ttl, principal)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def create_user(
    db: Database,
    username: str,
    role: str,
    *,
    department_code: str | None = None,
    grids: Sequence[str] = (),
    password: str | None = None,
    display_name: str = "",
) -> tuple[User, str]:
    """Create a user (with grid memberships) and its first API token; returns (user, token)."""
    if role not in {r.value for r in Role}:
        raise ValidationError(
            f"unknown role {role!r}; allowed: {', '.join(r.value for r in Role)}",
            code="unknown_role",
            field="role",
        )
    if role == Role.DEPARTMENT.value and not department_code:
        raise ValidationError(
            "a department user needs --department CODE", code="department_required", field="department"
        )
    if role in (Role.GRID_WORKER.value, Role.DEPUTY.value) and not grids:
        raise ValidationError(f"a {role} needs at least one --grid", code="grid_required", field="grid")
    with db.session(write=True) as session:
        if session.exec(select(User).where(User.username == username)).first() is not None:
            raise ValidationError(f"user {username!r} already exists", code="user_exists", field="name")
        if department_code and session.get(Department, department_code) is None:
            known = sorted(session.exec(select(Department.code)).all())
            raise ValidationError(
                f"unknown department {department_code!r}; allowed: {', '.join(known)}",
                code="unknown_department",
                field="department",
            )
        user = User(
            username=username,
            display_name=display_name or username,
            role=role,
            department_code=department_code,
            password_hash=hash_password(password) if password else None,
            created_at=datetime.now(UTC),
        )
        session.add(user)
        session.flush()
        for code in dict.fromkeys(grids):
            if session.get(Grid, code) is None:
                session.add(Grid(code=code, name=code, community="", street=""))
                session.flush()
            session.add(GridMember(grid_code=code, user_id=user.id))
        token = issue_token(session, user, name="cli")
    return user, token


def new_token_for(db: Database, username: str, name: str = "cli") -> str:
    """Issue another token for an existing user (the old ones stay valid until revoked)."""
    with db.session(write=True) as session:
        user = session.exec(select(User).where(User.username == username)).first()
        if user is None:
            raise ValidationError(f"no user named {username!r}", code="unknown_user", field="name")
        return issue_token(session, user, name=name)


def authenticate_password(db: Database, username: str, password: str) -> Principal | None:
    """For the web UI's login form."""
    with db.session() as session:
        user = session.exec(select(User).where(User.username == username)).first()
        if user is None or not user.active or not verify_password(password, user.password_hash):
            return None
        return load_principal(session, user)
