"""Reference data and API support: departments, grids and their members, idempotency keys."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from triage.store.catalog import Catalog
from triage.store.catalog import sync_departments as catalog_sync
from triage.store.db import Database, rows_matched
from triage.store.errors import StoreError, ValidationError
from triage.store.models import Grid, GridMember, IdempotencyKey, User, utcnow


def _insert(session: Session):  # type: ignore[no-untyped-def]
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def sync_departments(db: Database, catalog: Catalog, *, profile: str | None = None) -> int:
    """Load the active profile's departments into ``departments`` (see :mod:`triage.store.catalog`)."""
    return catalog_sync(db, catalog, profile=profile)


def upsert_grid(
    db: Database,
    code: str,
    *,
    name: str,
    community: str,
    street: str,
    members: Iterable[str] = (),
) -> Grid:
    """Create or update a grid and attach users (grid workers, deputies) by username."""
    with db.session(write=True) as session:
        grid = session.get(Grid, code) or Grid(code=code, name=name, community=community, street=street)
        grid.name, grid.community, grid.street = name, community, street
        session.add(grid)
        session.flush()
        for username in members:
            user = session.exec(select(User).where(User.username == username)).first()
            if user is None:
                raise ValidationError(f"no user named {username!r}", code="unknown_user", field="members")
            assert user.id is not None  # a row read back from the table has its key
            if session.get(GridMember, (code, user.id)) is None:
                session.add(GridMember(grid_code=code, user_id=user.id))
        return grid


def grid_members(db: Database, code: str) -> list[User]:
    with db.session() as session:
        stmt = (
            select(User)
            .join(GridMember, col(GridMember.user_id) == col(User.id))
            .where(GridMember.grid_code == code)
        )
        return list(session.exec(stmt.order_by(User.username)))


class IdempotencyMismatchError(StoreError):
    """The same Idempotency-Key was sent with a different request body."""

    code = "idempotency_key_reused"
    status_code = 422


def idempotent_get(db: Database, key: str, request_hash: str) -> IdempotencyKey | None:
    """The stored response for ``key``; a different request under the same key is an error."""
    with db.session() as session:
        row = session.get(IdempotencyKey, key)
    if row is not None and row.request_hash != request_hash:
        raise IdempotencyMismatchError(
            "this Idempotency-Key was already used for a different request", field="Idempotency-Key"
        )
    return row


def idempotent_put(
    db: Database,
    key: str,
    request_hash: str,
    response: Any,
    *,
    status_code: int = 200,
    now: datetime | None = None,
) -> IdempotencyKey:
    """Store a response once; if another request stored one first, that one wins and is returned."""
    with db.session(write=True) as session:
        stmt = _insert(session)(IdempotencyKey).values(
            key=key,
            request_hash=request_hash,
            status_code=status_code,
            response=response,
            created_at=now or utcnow(),
        )
        session.execute(stmt.on_conflict_do_nothing(index_elements=["key"]))
    row = idempotent_get(db, key, request_hash)
    assert row is not None
    return row


def claim_idempotency_key(session: Session, key: str, request_hash: str, now: datetime) -> bool:
    """Reserve ``key`` inside the caller's transaction; False if another request holds it.

    On PostgreSQL a concurrent holder's uncommitted row makes this wait for its outcome;
    on SQLite write transactions are already serialised (BEGIN IMMEDIATE).
    """
    stmt = _insert(session)(IdempotencyKey).values(
        key=key, request_hash=request_hash, status_code=0, response=None, created_at=now
    )
    stmt = stmt.on_conflict_do_nothing(index_elements=["key"]).returning(IdempotencyKey.key)
    return session.execute(stmt).first() is not None  # (rowcount is not reliable for ORM inserts)


def store_idempotent_response(session: Session, key: str, response: Any, *, status_code: int) -> None:
    """Fill in the response of a key reserved by :func:`claim_idempotency_key` (same transaction)."""
    session.execute(
        sa.update(IdempotencyKey)
        .where(col(IdempotencyKey.key) == key)
        .values(response=response, status_code=status_code)
    )


def purge_idempotency_keys(db: Database, *, older_than: timedelta = timedelta(hours=24)) -> int:
    with db.session(write=True) as session:
        res = session.execute(
            sa.delete(IdempotencyKey).where(col(IdempotencyKey.created_at) < utcnow() - older_than)
        )
        return int(rows_matched(res) or 0)
