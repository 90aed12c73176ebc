"""Column types and field helpers shared by every table module.

Timestamps are stored in UTC and always come back timezone-aware, on SQLite as on PostgreSQL;
JSON columns are JSONB on PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite drops the offset, so re-attach it)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """``value`` as an aware UTC datetime (a naive one is taken to be UTC already)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def dt_field(*, nullable: bool = True, index: bool = False) -> Any:
    """A UTC timestamp column (None by default; ``nullable=False`` ones are set by the writer)."""
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, index=index)


def json_field() -> Any:
    """A nullable JSON column (JSONB on PostgreSQL)."""
    return Field(default=None, sa_type=JSONType, nullable=True)


def in_values(column: str, values: type[StrEnum]) -> str:
    """SQL for a CHECK constraint: ``column`` holds one of the enum's values."""
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"
