"""Attachments: photos and PDFs of a case — a grid worker's photo at intake, evidence added on the
case page, a department's proof with the resolution (办结) (u001).

The row names the stored file by ``storage_key``, a random name the store chose (never the
uploader's file name, which is kept only as display text in ``original_name``), so the file store
(:mod:`triage.store.attachment_files`) can be a local directory today and object storage later.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from triage.store.models.base import dt_field, in_values


class AttachmentStage(StrEnum):
    INTAKE = "intake"  # with the submission (a grid worker's photo)
    CASE = "case"  # added later on the case page
    RESOLUTION = "resolution"  # proof of 办结, with the resolution


class AttachmentKind(StrEnum):
    IMAGE = "image"
    PDF = "pdf"


class Attachment(SQLModel, table=True):
    __tablename__ = "attachments"
    __table_args__ = (
        sa.CheckConstraint(in_values("stage", AttachmentStage), name="ck_attachments_stage"),
        sa.CheckConstraint(in_values("kind", AttachmentKind), name="ck_attachments_kind"),
        sa.Index("ix_attachments_case", "case_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id")
    case_no: str = Field(max_length=20)
    stage: str = Field(default=AttachmentStage.CASE.value, max_length=16)
    kind: str = Field(max_length=8)
    content_type: str = Field(max_length=64)  # from the content, never from the client
    size: int  # bytes of the stored file (after metadata was stripped)
    width: int | None = None
    height: int | None = None
    storage_key: str = Field(max_length=128, unique=True)
    thumb_key: str | None = Field(default=None, max_length=128)
    original_name: str | None = Field(default=None, max_length=255)  # display only
    sha256: str = Field(max_length=64)
    kept_location: bool = False  # the uploader ticked 保留位置信息: EXIF (GPS) left in place
    uploaded_by: str = Field(max_length=64)
    created_at: datetime = dt_field(nullable=False)
