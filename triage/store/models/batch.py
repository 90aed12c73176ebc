"""Tables the batch jobs (triage/batch) add to the case database (migration ``b001``).

* ``batch_jobs`` — one row per reclassify/import run: parameters, checkpoint, progress and
  summary, so ``--resume`` (and the HTTP job API) can find an interrupted run.
* ``case_suggestions`` — every machine suggestion a reclassify produced, next to the one
  that was in force before, with the human decision at that time and whether it disagrees.
  The case's own human decision is never written by a batch job. A ``flagged`` row stays
  on the re-review list until a reviewer clears it (``cleared_*``, migration ``r004_rereview``;
  see :mod:`triage.store.rereview`).
* ``case_imports`` — the external key of every imported historical record, which makes an
  import idempotent, and the text hash used to skip exact duplicates.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from triage.store.models.base import dt_field, json_field


class BatchJob(SQLModel, table=True):
    __tablename__ = "batch_jobs"

    id: str = Field(primary_key=True, max_length=40)
    kind: str = Field(max_length=16, index=True)  # reclassify | import
    status: str = Field(max_length=16, index=True)  # running | interrupted | done | failed
    params: dict[str, Any] | None = json_field()
    checkpoint: dict[str, Any] | None = json_field()
    progress: dict[str, Any] | None = json_field()
    summary: dict[str, Any] | None = json_field()
    error: str | None = Field(default=None, sa_type=sa.Text)
    model_version: str | None = Field(default=None, max_length=64)
    created_by: str = Field(default="system", max_length=64)
    created_at: datetime = dt_field(nullable=False)
    updated_at: datetime = dt_field(nullable=False)
    finished_at: datetime | None = dt_field()


class CaseSuggestion(SQLModel, table=True):
    __tablename__ = "case_suggestions"
    __table_args__ = (
        sa.UniqueConstraint("job_id", "case_id", name="uq_case_suggestions_job_case"),
        sa.Index("ix_case_suggestions_rereview", "flagged", "cleared_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    job_id: str = Field(foreign_key="batch_jobs.id", max_length=40, index=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    case_no: str = Field(max_length=20)
    created_at: datetime = dt_field(nullable=False)
    model_version: str = Field(max_length=64, index=True)
    category: str | None = Field(default=None, max_length=64)
    subcategory: str | None = Field(default=None, max_length=64)
    department_code: str | None = Field(default=None, max_length=64)
    department: str | None = Field(default=None, max_length=128)
    level: str | None = Field(default=None, max_length=16)
    priority: str | None = Field(default=None, max_length=8)
    confidence: float = 0.0
    needs_review: bool = True
    top_k: list[Any] | None = json_field()
    # the suggestion in force before this one
    previous_model_version: str | None = Field(default=None, max_length=64)
    previous_category: str | None = Field(default=None, max_length=64)
    previous_department_code: str | None = Field(default=None, max_length=64)
    previous_confidence: float | None = None
    # the human decision at the time (never changed by batch jobs)
    decision_category: str | None = Field(default=None, max_length=64)
    case_status: str = Field(max_length=16)
    changed: bool = False  # new category differs from the previous suggestion
    applied: bool = False  # became the case's current suggestion (unreviewed cases only)
    flagged: bool = Field(default=False, index=True)  # reviewed label now disagrees: re-review
    # a reviewer's answer to the flag: "dismiss" (keep the decision) or "correct" (new category)
    cleared_at: datetime | None = dt_field()
    cleared_by: str | None = Field(default=None, max_length=64)
    cleared_action: str | None = Field(default=None, max_length=16)


class CaseImport(SQLModel, table=True):
    __tablename__ = "case_imports"

    source_ref: str = Field(primary_key=True, max_length=200)  # "<source>:<external id>"
    text_hash: str = Field(max_length=64, index=True)
    case_id: int | None = Field(default=None, foreign_key="cases.id", index=True)
    case_no: str | None = Field(default=None, max_length=20)
    job_id: str = Field(max_length=40, index=True)
    imported_at: datetime = dt_field(nullable=False)
    duplicate_of: str | None = Field(default=None, max_length=200)  # source_ref of the kept record
