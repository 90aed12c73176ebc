"""Bulk review (issue #13 item 5): accept the selected confident suggestions, or dispatch the
selected cases to one department, in one request that reports each case's outcome."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from api.limits import BULK_REVIEW_MAX, CASE_NO_CHARS, DEPARTMENT_CODE_CHARS, NOTE_CHARS
from api.schemas import CaseOut


class BulkAction(StrEnum):
    ACCEPT = "accept"  # only suggestions confident enough to need no review (``needs_review`` false)
    DISPATCH = "dispatch"  # to ``department_code``, whatever was suggested


class BulkReviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: BulkAction
    case_nos: list[str] = Field(
        min_length=1, max_length=BULK_REVIEW_MAX, description="The selected cases (each at most once)."
    )
    department_code: str | None = Field(
        default=None, max_length=DEPARTMENT_CODE_CHARS, description="dispatch: the department."
    )
    requirement: str | None = Field(default=None, max_length=NOTE_CHARS, description="Handling requirement.")


class BulkRowError(BaseModel):
    case_no: str = Field(max_length=CASE_NO_CHARS)
    code: str
    message: str


class BulkReviewResult(BaseModel):
    """200 even when some cases failed: ``done`` were decided, ``failed`` say why not, in request order."""

    done: list[CaseOut]
    failed: list[BulkRowError]
