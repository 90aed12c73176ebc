"""Stored responses for the API's Idempotency-Key header."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from triage.store.models.base import dt_field, json_field


class IdempotencyKey(SQLModel, table=True):
    """Stored responses for the API's Idempotency-Key header."""

    __tablename__ = "idempotency_keys"

    key: str = Field(primary_key=True, max_length=128)
    request_hash: str = Field(max_length=64)
    status_code: int = 200
    response: dict[str, Any] | list[Any] | None = json_field()
    created_at: datetime = dt_field(nullable=False, index=True)
