"""Browser sessions kept on the server (``web_sessions``) and the account look-ups behind them.

The web UI's signed cookie carries only a random session id; the table keeps its SHA-256 (a
fast hash is right for a 256-bit random secret). A session ends when it is revoked (logout,
password change, the user disabled), when it is idle longer than the idle timeout, at its
absolute expiry, or when the password hash no longer matches the one it was opened with.
``last_seen_at`` is written at most once a minute, so pages do not cost a write each.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from triage.config import Settings
from triage.store.db import Database, rows_matched
from triage.store.models import Grid, GridMember, User, WebSession, utcnow

SEEN_EVERY = timedelta(minutes=1)  # last_seen_at is written at most this often


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    """How long a browser session lives: absolute lifetime and idle timeout."""

    # the defaults are the Settings defaults, written once there
    max_age: timedelta = timedelta(hours=Settings.model_fields["session_max_age_hours"].default)
    idle: timedelta = timedelta(minutes=Settings.model_fields["session_idle_minutes"].default)

    @classmethod
    def from_settings(cls, settings: Settings) -> SessionPolicy:
        return cls(
            max_age=timedelta(hours=settings.session_max_age_hours),
            idle=timedelta(minutes=settings.session_idle_minutes),
        )


def password_fingerprint(user: User) -> str:
    """Changes whenever the password does, so a password change ends the user's other sessions."""
    return hashlib.sha256((user.password_hash or "").encode()).hexdigest()[:16]


def hash_session_id(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8", "surrogatepass")).hexdigest()


class SessionStore:
    """Open, resolve and revoke browser sessions (one instance per app)."""

    def __init__(
        self, db: Database, policy: SessionPolicy | None = None, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.db, self.policy, self.clock = db, policy or SessionPolicy(), clock

    def open(self, user_id: int, client_address: str = "") -> str:
        """A new session for the user; returns the id for the cookie (only its hash is kept)."""
        now = self.clock()
        session_id = secrets.token_urlsafe(32)
        with self.db.session(write=True) as session:
            user = session.get(User, user_id)
            if user is None:
                raise LookupError(f"no user with id {user_id}")
            session.execute(sa.delete(WebSession).where(col(WebSession.expires_at) <= now))  # housekeeping
            session.add(
                WebSession(
                    session_hash=hash_session_id(session_id),
                    user_id=user_id,
                    password_fingerprint=password_fingerprint(user),
                    client_address=client_address[:64],
                    created_at=now,
                    last_seen_at=now,
                    expires_at=now + self.policy.max_age,
                )
            )
            user.last_login_at = now
            session.add(user)
        return session_id

    def resolve(self, session_id: str) -> tuple[User, tuple[str, ...]] | None:
        """The active user behind a live session, with their grid codes; None if it has ended."""
        now = self.clock()
        with self.db.session() as session:  # one round trip: session, user and grid codes
            found = session.exec(
                select(WebSession, User, GridMember.grid_code)
                .join(User, col(User.id) == col(WebSession.user_id))
                .outerjoin(GridMember, col(GridMember.user_id) == col(User.id))
                .where(WebSession.session_hash == hash_session_id(session_id))
            ).all()
        if not found:
            return None
        row, user, _ = found[0]
        if (
            row.revoked_at is not None
            or row.expires_at <= now
            or row.last_seen_at + self.policy.idle <= now
            or not user.active
            or row.password_fingerprint != password_fingerprint(user)
        ):
            return None
        grids = [code for _, _, code in found if code is not None]
        if now - row.last_seen_at >= SEEN_EVERY:
            with self.db.session(write=True) as session:
                session.execute(
                    sa.update(WebSession)
                    .where(col(WebSession.id) == row.id, col(WebSession.last_seen_at) < now)
                    .values(last_seen_at=now)
                )
        return user, tuple(sorted(grids))

    def revoke(self, session_id: str) -> bool:
        """End one session (logout); True if it was live."""
        with self.db.session(write=True) as session:
            changed = rows_matched(
                session.execute(
                    sa.update(WebSession)
                    .where(
                        col(WebSession.session_hash) == hash_session_id(session_id),
                        col(WebSession.revoked_at).is_(None),
                    )
                    .values(revoked_at=self.clock())
                )
            )
        return bool(changed)


def revoke_user_sessions(session: Session, user_id: int, now: datetime | None = None) -> int:
    """End every session of a user inside the caller's transaction (password change, disable)."""
    changed = rows_matched(
        session.execute(
            sa.update(WebSession)
            .where(col(WebSession.user_id) == user_id, col(WebSession.revoked_at).is_(None))
            .values(revoked_at=now or utcnow())
        )
    )
    return int(changed or 0)


def live_session_counts(db: Database, now: datetime | None = None) -> dict[int, int]:
    """user id → number of unrevoked, unexpired sessions (for the admin users page)."""
    now = now or utcnow()
    stmt = (
        sa.select(col(WebSession.user_id), sa.func.count())
        .where(col(WebSession.revoked_at).is_(None), col(WebSession.expires_at) > now)
        .group_by(col(WebSession.user_id))
    )
    with db.session() as session:
        return {int(uid): int(n) for uid, n in session.execute(stmt).all()}


def active_user(db: Database, user_id: int) -> tuple[User, tuple[str, ...]] | None:
    """The active user with this id and the codes of their grids, or None."""
    with db.session() as session:
        user = session.get(User, user_id)
        if user is None or not user.active:
            return None
        grids = session.exec(select(GridMember.grid_code).where(GridMember.user_id == user_id)).all()
        return user, tuple(sorted(grids))


def grid_names(db: Database, codes: tuple[str, ...] | list[str] | None = None) -> dict[str, str]:
    """Grid code → "name（community）" for selects; all grids when ``codes`` is None (capped)."""
    stmt = select(Grid).order_by(Grid.code)
    stmt = stmt.where(col(Grid.code).in_(codes)) if codes is not None else stmt.limit(500)
    with db.session() as session:
        grids = session.exec(stmt).all()
    return {
        g.code: f"{g.name}（{g.community}）" if g.community and g.community != g.name else g.name
        for g in grids
    }
