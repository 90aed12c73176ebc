"""API tokens and passwords.

Tokens are 256-bit random strings shown once; only their SHA-256 is stored (a fast hash
is right for high-entropy secrets and keeps per-request verification cheap). Passwords,
low-entropy by nature, use scrypt with a per-user salt at the OWASP Password Storage Cheat
Sheet's N=2^14, r=8, p=5 (as strong as N=2^17, p=1, with 16 MiB instead of 128); hashes made
with other parameters are replaced at the next successful login. Unknown or disabled names
cost the same scrypt run as a real check, so timing does not tell which accounts exist.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from triage.store.db import Database
from triage.store.errors import ValidationError
from triage.store.models import ApiToken, Department, Grid, GridMember, Role, User, WebSession
from triage.store.sessions import password_fingerprint

TOKEN_PREFIX = "pt_"
SCRYPT = {"n": 2**14, "r": 8, "p": 5}
SCRYPT_MAXMEM = 64 * 1024 * 1024  # 128 * r * n bytes = 16 MiB needed; room for older hashes
PASSWORD_MAX_CHARS = 256  # the login form reads at most this many
TOKEN_SEEN_EVERY = timedelta(minutes=1)  # api_tokens.last_used_at is written at most this often
_DUMMY_SALT = secrets.token_bytes(16)


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


# -- passwords -------------------------------------------------------------------------------------
def check_password_policy(password: str, min_length: int) -> None:
    """Refuse passwords shorter than ``min_length`` characters (or too long for the login form)."""
    if len(password) < min_length:
        raise ValidationError(
            f"the password must have at least {min_length} characters (got {len(password)})",
            code="password_too_short",
            field="password",
        )
    if len(password) > PASSWORD_MAX_CHARS:
        raise ValidationError(
            f"the password may have at most {PASSWORD_MAX_CHARS} characters",
            code="password_too_long",
            field="password",
        )


def _utf8(password: str) -> bytes:
    return password.encode("utf-8", "surrogatepass")  # a lone surrogate (CLI argument) is no crash


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(_utf8(password), salt=salt, maxmem=SCRYPT_MAXMEM, **SCRYPT)
    return f"scrypt${SCRYPT['n']}${SCRYPT['r']}${SCRYPT['p']}${salt.hex()}${digest.hex()}"


def needs_rehash(stored: str | None) -> bool:
    """True for a password hash made with other parameters than today's."""
    if not stored:
        return False
    parts = stored.split("$")
    return len(parts) != 6 or parts[:4] != ["scrypt", str(SCRYPT["n"]), str(SCRYPT["r"]), str(SCRYPT["p"])]


def dummy_verify(password: str) -> bool:
    """The cost of one real check, for names that have no password to check; always False."""
    hashlib.scrypt(_utf8(password), salt=_DUMMY_SALT, maxmem=SCRYPT_MAXMEM, **SCRYPT)
    return False


def verify_password(password: str, stored: str | None) -> bool:
    if not stored:
        return dummy_verify(password)
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return dummy_verify(password)
        got = hashlib.scrypt(
            _utf8(password), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), maxmem=SCRYPT_MAXMEM
        )
    except (ValueError, TypeError):
        return dummy_verify(password)
    return hmac.compare_digest(got.hex(), digest)


def authenticate_password(db: Database, username: str, password: str) -> Principal | None:
    """For the web UI's login form; upgrades an old-parameter hash after a correct password."""
    with db.session() as session:
        user = session.exec(select(User).where(User.username == username)).first()
        stored = user.password_hash if user is not None else None
        if not verify_password(password, stored) or user is None or not user.active:
            return None
        principal = load_principal(session, user)
    if needs_rehash(stored):
        _rehash(db, user.id, stored, password)
    return principal


def _rehash(db: Database, user_id: int | None, old: str | None, password: str) -> None:
    """Store a hash with today's parameters; the user's open sessions follow the new hash."""
    new = hash_password(password)
    with db.session(write=True) as session:
        user = session.get(User, user_id)
        if user is None or user.password_hash != old:  # changed meanwhile: leave it
            return
        before = password_fingerprint(user)
        user.password_hash = new
        session.add(user)
        session.execute(
            sa.update(WebSession)
            .where(WebSession.user_id == user_id, WebSession.password_fingerprint == before)  # type: ignore[arg-type]
            .values(password_fingerprint=password_fingerprint(user))
        )


# -- tokens ----------------------------------------------------------------------------------------
def load_principal(session: Session, user: User) -> Principal:
    grids = session.exec(select(GridMember.grid_code).where(GridMember.user_id == user.id)).all()
    assert user.id is not None
    return Principal(user.id, user.username, user.role, user.department_code, tuple(sorted(grids)))


_TOKEN_CHECK: sa.Select[*tuple[Any, ...]] = (
    sa.select(
        col(ApiToken.id),
        col(ApiToken.revoked_at),
        col(ApiToken.expires_at),
        col(ApiToken.last_used_at),
        col(User.id).label("user_id"),
        col(User.active),
        col(User.auth_version),
    )
    .join(User, col(User.id) == col(ApiToken.user_id))
    .where(col(ApiToken.token_hash) == sa.bindparam("token_hash"))
)


@dataclass(frozen=True, slots=True)
class _Grant:
    expires: float  # time.monotonic() deadline of the cached principal
    principal: Principal
    auth_version: int


class TokenCache:
    """Verifies bearer tokens; keeps the loaded principal (user, grids) for ``ttl`` seconds.

    Every call still reads the token row joined with its user (one indexed query), so a revoked
    or expired token, a disabled user, or a bumped ``users.auth_version`` stops at once in every
    worker; a cache hit saves the grid query and the object building. ``last_used_at`` is written
    at most once a minute per token.
    """

    def __init__(self, ttl: float = 10.0, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[str, _Grant] = {}
        self._lock = threading.Lock()

    def authenticate(self, db: Database, token: str) -> Principal | None:
        """The active user behind ``token``, or None (unknown, revoked, expired or inactive)."""
        key = hash_token(token)
        now = datetime.now(UTC)
        with db.session() as session:
            row = session.execute(_TOKEN_CHECK, {"token_hash": key}).first()
            valid = (
                row is not None
                and row.revoked_at is None
                and (row.expires_at is None or row.expires_at > now)
                and row.active
            )
            if not valid:
                self.discard(key)
                return None
            assert row is not None  # for mypy: ``valid`` says so
            with self._lock:
                hit = self._entries.get(key)
            if hit is not None and hit.auth_version == row.auth_version and hit.expires > time.monotonic():
                principal = hit.principal
            else:
                user = session.get(User, row.user_id)
                assert user is not None
                principal = load_principal(session, user)
                self._put(key, _Grant(time.monotonic() + self.ttl, principal, row.auth_version))
        if row.last_used_at is None or now - row.last_used_at >= TOKEN_SEEN_EVERY:
            with db.session(write=True) as session:
                session.execute(
                    sa.update(ApiToken)
                    .where(
                        ApiToken.id == row.id,  # type: ignore[arg-type]
                        sa.or_(
                            col(ApiToken.last_used_at).is_(None),
                            col(ApiToken.last_used_at) <= now - TOKEN_SEEN_EVERY,
                        ),
                    )
                    .values(last_used_at=now)
                )
        return principal

    def _put(self, key: str, grant: _Grant) -> None:
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[key] = grant

    def discard(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def authenticate_token(session: Session, token: str) -> Principal | None:
    """The active user behind a token, or None (unknown, revoked, expired or inactive); no cache."""
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


# -- accounts --------------------------------------------------------------------------------------
def check_role_scope(role: str, department_code: str | None, grids: Sequence[str]) -> None:
    """A known role with the scope it needs: a department user a department, grid workers and
    deputies at least one grid (ValidationError naming the field otherwise)."""
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


def check_department_known(session: Session, department_code: str | None) -> None:
    if department_code and session.get(Department, department_code) is None:
        known = sorted(session.exec(select(Department.code)).all())
        raise ValidationError(
            f"unknown department {department_code!r}; allowed: {', '.join(known)}",
            code="unknown_department",
            field="department",
        )


def join_grids(session: Session, user_id: int, grids: Sequence[str]) -> None:
    """Make the user a member of ``grids`` (a grid not yet in the registry is added by its code)."""
    for code in dict.fromkeys(grids):
        if session.get(Grid, code) is None:
            session.add(Grid(code=code, name=code, community="", street=""))
            session.flush()
        session.add(GridMember(grid_code=code, user_id=user_id))


def create_user(
    db: Database,
    username: str,
    role: str,
    *,
    department_code: str | None = None,
    grids: Sequence[str] = (),
    password: str | None = None,
    display_name: str = "",
    min_password_length: int | None = None,
    password_hash: str | None = None,
) -> tuple[User, str]:
    """Create a user (with grid memberships) and its first API token; returns (user, token).

    ``min_password_length`` defaults to the ``password_min_length`` setting. ``password_hash``
    (an already hashed password) lets test fixtures hash a fixed password once per process.
    """
    if min_password_length is None:
        from triage.config import get_settings

        min_password_length = get_settings().password_min_length
    username = username.strip()
    if not username or len(username) > 64:
        raise ValidationError("the login name needs 1 to 64 characters", code="bad_username", field="name")
    check_role_scope(role, department_code, grids)
    if password is not None:
        check_password_policy(password, min_password_length)
    with db.session(write=True) as session:
        if session.exec(select(User).where(User.username == username)).first() is not None:
            raise ValidationError(f"user {username!r} already exists", code="user_exists", field="name")
        check_department_known(session, department_code)
        user = User(
            username=username,
            display_name=display_name or username,
            role=role,
            department_code=department_code,
            password_hash=password_hash or (hash_password(password) if password else None),
            created_at=datetime.now(UTC),
        )
        session.add(user)
        session.flush()
        assert user.id is not None
        join_grids(session, user.id, grids)
        token = issue_token(session, user, name="cli")
    return user, token


def new_token_for(db: Database, username: str, name: str = "cli") -> str:
    """Issue another token for an existing user (the old ones stay valid until revoked)."""
    with db.session(write=True) as session:
        user = session.exec(select(User).where(User.username == username)).first()
        if user is None:
            raise ValidationError(f"no user named {username!r}", code="unknown_user", field="name")
        return issue_token(session, user, name=name)
