"""The model registry (t003): registered bundles per profile, their history, shadow suggestions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from triage.store.models.base import dt_field, json_field

MODEL_STATUSES = ("candidate", "shadow", "live", "retired")
_MODEL_STATUS_SQL = f"status IN ({', '.join(repr(v) for v in MODEL_STATUSES)})"


class ModelVersion(SQLModel, table=True):
    """A registered bundle of a profile (t003): at most one ``live`` and one ``shadow`` per profile."""

    __tablename__ = "model_versions"
    __table_args__ = (
        sa.UniqueConstraint("profile", "version", name="uq_model_versions_profile_version"),
        sa.CheckConstraint(_MODEL_STATUS_SQL, name="ck_model_versions_status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    profile: str = Field(max_length=64, index=True)
    version: str = Field(max_length=64)  # the bundle's model_version (content hash)
    path: str = Field(max_length=512)
    status: str = Field(default="candidate", max_length=16)
    metrics: dict[str, Any] | None = json_field()
    data_fingerprint: str | None = Field(default=None, max_length=64)  # sha256 of the training data
    registered_by: str = Field(max_length=64)
    registered_at: datetime = dt_field(nullable=False)
    promoted_by: str | None = Field(default=None, max_length=64)
    promoted_at: datetime | None = dt_field()
    shadow_since: datetime | None = dt_field()


class ModelEvent(SQLModel, table=True):
    """History of the registry (register, shadow, promote, rollback): who, when, which version."""

    __tablename__ = "model_events"

    id: int | None = Field(default=None, primary_key=True)
    model_id: int = Field(foreign_key="model_versions.id", index=True)
    profile: str = Field(max_length=64)
    action: str = Field(max_length=16)
    actor: str = Field(max_length=64)
    at: datetime = dt_field(nullable=False)
    note: str | None = Field(default=None, sa_type=sa.Text)


class ShadowSuggestion(SQLModel, table=True):
    """A shadow candidate's suggestion for a case, stored beside the live one and never shown."""

    __tablename__ = "shadow_suggestions"
    __table_args__ = (sa.UniqueConstraint("case_id", "model_id", name="uq_shadow_case_model"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    model_id: int = Field(foreign_key="model_versions.id", index=True)
    category: str | None = Field(default=None, max_length=64)
    department_code: str | None = Field(default=None, max_length=64)
    department: str | None = Field(default=None, max_length=128)
    confidence: float = 0.0
    department_confidence: float | None = None
    created_at: datetime = dt_field(nullable=False)
