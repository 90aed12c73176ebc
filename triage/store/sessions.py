"""Account look-ups for browser sessions (the web UI keeps only a user id in its signed cookie)."""

from __future__ import annotations

import hashlib

from sqlmodel import select

from triage.store.db import Database
from triage.store.models import Grid, GridMember, User


def password_fingerprint(user: User) -> str:
    """Changes whenever the password does, so a password change ends the user's other sessions."""
    return hashlib.sha256((user.password_hash or "").encode()).hexdigest()[:16]


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
    stmt = stmt.where(Grid.code.in_(codes)) if codes is not None else stmt.limit(500)
    with db.session() as session:
        grids = session.exec(stmt).all()
    return {
        g.code: f"{g.name}（{g.community}）" if g.community and g.community != g.name else g.name
        for g in grids
    }
