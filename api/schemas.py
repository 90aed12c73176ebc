"""Request and response models of the JSON API (they are the OpenAPI schema)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from api.limits import (
    ADDRESS_CHARS,
    CASE_NO_CHARS,
    CATEGORY_CHARS,
    CONTACT_CHARS,
    DEPARTMENT_CODE_CHARS,
    GRID_CHARS,
    LEVEL_CHARS,
    MAX_CHUNK_SIZE,
    NAME_CHARS,
    NOTE_CHARS,
    PRIORITY_CHARS,
    RESULT_CHARS,
    TITLE_CHARS,
)
from api.validation import Moment
from triage.batch.engine import DEFAULT_CHUNK_SIZE
from triage.config import Settings
from triage.store.models import CaseStatus, Source

# The text limit is Settings.max_text_chars, checked by the intake (422 text_too_long, counted
# after line-break clean-up, so a CRLF counts once); the schema states it for clients.
_TEXT_LIMIT = f"at most max_text_chars ({Settings.model_fields['max_text_chars'].default:,} by default)"


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None = None
    allowed: list[str] | None = None


class ErrorResponse(BaseModel):
    error: ErrorDetail


# Documented on every operation so clients (and schemathesis) know the error shape.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": desc}
    for status, desc in (
        (400, "Malformed request"),
        (401, "Missing or invalid token"),
        (403, "Wrong role or scope"),
        (404, "Not found"),
        (409, "Conflict"),
        (413, "Body over the limit derived from the text limit (12 bytes per character + 64 KB)"),
        (422, "Validation error"),
    )
}


class TriageRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, description=f"The citizen's message, {_TEXT_LIMIT} characters.")
    district: str | None = Field(default=None, max_length=128, description="辖区, e.g. 龙华区.")
    street: str | None = Field(default=None, max_length=128, description="街道/镇 of the case.")
    community: str | None = Field(default=None, max_length=128, description="社区/村 of the case.")
    address: str | None = Field(default=None, max_length=ADDRESS_CHARS)
    grid: str | None = Field(
        default=None,
        max_length=GRID_CHARS,
        description="Grid code: its street and community locate the case.",
    )


class CategoryScoreOut(BaseModel):
    label: str
    probability: float


class RouteOptionOut(BaseModel):
    department_code: str
    department: str
    level: str
    deadline_hours: int
    category: str
    subcategory: str | None = None
    reason: dict[str, Any] = {}


class DuplicateOut(BaseModel):
    case_id: str
    score: float
    reason: str = Field(default="", description="Why: 同一地点：南门广场；同类问题：噪音；3 天前")


class TriageResponse(BaseModel):
    """The machine suggestion: category, route, deadline and likely duplicates (nothing is stored)."""

    category: str
    subcategory: str | None = None
    confidence: float = Field(description="The model's top-1 probability (the review threshold's).")
    category_probability: float | None = Field(
        default=None,
        description="The model's probability of `category`; differs from `confidence` when a keyword rule "
        "(route_reason.rule_name) chose the category.",
    )
    top_k: list[CategoryScoreOut]
    explanation: list[str]
    needs_review: bool
    model_category: str
    department_code: str
    department: str
    level: str
    deadline_hours: int
    priority: str
    route_reason: dict[str, Any]
    route_alternatives: list[RouteOptionOut]
    duplicates: list[DuplicateOut]
    model_version: str
    masked_text: str = Field(description="The text as typed, with phone and ID numbers masked.")


class Health(BaseModel):
    status: str
    model_version: str
    database: str


# -- cases ---------------------------------------------------------------------------------
class CaseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(
        min_length=1,
        description=f"The citizen's message as typed, {_TEXT_LIMIT} characters; without Chinese the model "
        "abstains (no category, needs review).",
    )
    title: str | None = Field(default=None, max_length=TITLE_CHARS)
    source: Source | None = Field(default=None, description="Default follows the caller's role.")
    grid: str | None = Field(
        default=None, max_length=GRID_CHARS, description="Grid code (default: the caller's grid)."
    )
    address: str | None = Field(default=None, max_length=ADDRESS_CHARS)
    reporter_name: str | None = Field(default=None, max_length=NAME_CHARS)
    reporter_phone: str | None = Field(default=None, max_length=CONTACT_CHARS)


class SuggestionOut(BaseModel):
    """The machine suggestion stored with the case, apart from the human decision."""

    category: str | None
    subcategory: str | None
    department_code: str | None
    department: str | None
    level: str | None
    priority: str | None
    deadline_hours: int | None
    model_category: str | None
    model_version: str | None
    confidence: float
    category_probability: float | None = Field(
        default=None, description="The model's probability of `category` (a keyword rule may have chosen it)."
    )
    department_confidence: float | None = Field(
        default=None, description="The department suggestion's probability (compared with auto-dispatch)."
    )
    needs_review: bool
    top_k: list[dict[str, Any]]
    explanation: list[str]
    route_reason: dict[str, Any]
    route_alternatives: list[dict[str, Any]]


class DuplicateCandidateOut(BaseModel):
    case_no: str
    score: float
    reason: str = ""  # empty for candidates stored before the same-matter matcher


class LeaseOut(BaseModel):
    owner: str | None
    expires_at: datetime | None


class ContactRequest(BaseModel):
    """Optional body of ``POST /api/v1/cases/{case_no}/contact``: why the number is needed (audited)."""

    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(default=None, max_length=200, description="e.g. 回访, 核实地址.")


class ContactOut(BaseModel):
    """The reporter's name and contact as stored, for a call back; each reveal is an audit event."""

    case_no: str
    reporter_name: str | None
    reporter_contact: str | None


class CaseOut(BaseModel):
    """A case as the API shows it: text and contact PII-masked, suggestion kept apart."""

    case_no: str
    title: str | None
    text: str = Field(description="PII-masked text.")
    source: str
    reporter_name: str | None
    reporter_contact: str | None = Field(description="Masked.")
    grid_code: str | None
    community: str | None
    street: str | None
    address: str | None
    created_at: datetime
    updated_at: datetime
    status: str
    category: str | None
    subcategory: str | None
    department_code: str | None
    department: str | None
    level: str | None
    priority: str
    deadline_hours: int
    deadline: datetime
    overdue: bool
    requirement: str | None
    result: str | None
    satisfaction: int | None
    duplicate_of: str | None
    possible_duplicate_of: str | None = Field(
        default=None, description="The submitter thinks this duplicates that case; a reviewer decides."
    )
    citizens: int = Field(description="Citizens who raised this matter (1 + merged duplicates).")
    duplicate_candidates: list[DuplicateCandidateOut]
    suggestion: SuggestionOut
    reviewed_by: str | None
    reviewed_at: datetime | None
    corrected: bool
    dispatched_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    reject_reason: str | None
    return_reason: str | None
    returned_count: int
    lease: LeaseOut
    version: int
    allowed_transitions: list[str]


class AuditEventOut(BaseModel):
    at: datetime
    actor: str
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    note: str | None


class FeedbackOut(BaseModel):
    satisfaction: int
    comment: str | None
    created_by: str | None
    created_at: datetime


class CaseDetail(CaseOut):
    history: list[AuditEventOut]
    feedback: list[FeedbackOut]


class CasePage(BaseModel):
    items: list[CaseOut]
    limit: int
    offset: int
    next_offset: int | None = Field(description="Offset of the next page, or null on the last page.")


class QueuePage(BaseModel):
    items: list[CaseOut]
    limit: int
    next_cursor: str | None = Field(description="Pass as `after` for the next page (keyset paging).")


# -- review and handling -------------------------------------------------------------------------
class ReviewAction(StrEnum):
    ACCEPT = "accept"
    CORRECT = "correct"
    MERGE = "merge"
    REJECT = "reject"


class ReviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: ReviewAction
    category: str | None = Field(
        default=None, max_length=CATEGORY_CHARS, description="correct: the right category."
    )
    subcategory: str | None = Field(default=None, max_length=CATEGORY_CHARS)
    department_code: str | None = Field(
        default=None, max_length=DEPARTMENT_CODE_CHARS, description="correct: the right department."
    )
    level: str | None = Field(
        default=None, max_length=LEVEL_CHARS, description="correct: 网格/社区/街道/区/市."
    )
    priority: str | None = Field(
        default=None, max_length=PRIORITY_CHARS, description="urgent | high | normal | low."
    )
    requirement: str | None = Field(
        default=None, max_length=NOTE_CHARS, description="Handling requirement (交办)."
    )
    into: str | None = Field(
        default=None, max_length=CASE_NO_CHARS, description="merge: the case number to merge into."
    )
    reason: str | None = Field(
        default=None, max_length=NOTE_CHARS, description="reject: why it is not actionable."
    )
    note: str | None = Field(default=None, max_length=NOTE_CHARS)
    version: int | None = Field(default=None, description="Optimistic lock: the version you reviewed.")


class TransitionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to: CaseStatus
    note: str | None = Field(
        default=None, max_length=NOTE_CHARS, description="Reason (return, reject, reopen)."
    )
    result: str | None = Field(
        default=None, max_length=RESULT_CHARS, description="resolved: the handling result."
    )
    requirement: str | None = Field(default=None, max_length=NOTE_CHARS)
    into: str | None = Field(default=None, max_length=CASE_NO_CHARS)
    satisfaction: int | None = Field(default=None, ge=1, le=5)
    comment: str | None = Field(default=None, max_length=NOTE_CHARS)
    version: int | None = None


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    satisfaction: int = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=NOTE_CHARS)
    version: int | None = None


# -- re-review (待复核) ---------------------------------------------------------------------------
class RereviewAction(StrEnum):
    DISMISS = "dismiss"  # 维持原判
    CORRECT = "correct"  # 改为新类别


class RereviewItemOut(BaseModel):
    case_no: str
    title: str | None = Field(description="PII-masked.")
    summary: str = Field(description="The start of the PII-masked text.")
    status: str
    grid_code: str | None
    version: int = Field(description="The case's version, for `version` when correcting.")
    decision_category: str | None = Field(description="The reviewed (human) category.")
    decision_department_code: str | None
    decision_department: str | None
    reviewed_by: str | None
    reviewed_at: datetime | None
    suggested_category: str | None = Field(description="The new model's category.")
    suggested_subcategory: str | None
    suggested_department_code: str | None
    suggested_department: str | None
    confidence: float
    model_version: str
    previous_category: str | None = Field(description="The suggestion in force before the run.")
    previous_model_version: str | None
    job_id: str
    flagged_at: datetime
    open_flags: int = Field(description="Open flags of this case (several runs may flag it).")
    actions: list[str] = Field(description="Answers possible in the case's status.")


class RereviewPage(BaseModel):
    items: list[RereviewItemOut]
    total: int
    limit: int
    offset: int
    next_offset: int | None = Field(description="Offset of the next page, or null on the last page.")


class RereviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: RereviewAction
    category: str | None = Field(
        default=None,
        max_length=CATEGORY_CHARS,
        description="correct: the category (default: the new suggestion's).",
    )
    department_code: str | None = Field(
        default=None,
        max_length=DEPARTMENT_CODE_CHARS,
        description="correct: the department (default follows the category).",
    )
    note: str | None = Field(default=None, max_length=NOTE_CHARS)
    version: int | None = Field(default=None, ge=1, description="correct: optimistic lock (item `version`).")


class RereviewResult(BaseModel):
    action: RereviewAction
    cleared: int = Field(description="Open flags of the case that this answer cleared.")
    case: CaseOut


# -- the three lists ---------------------------------------------------------------------------
class ListKind(StrEnum):
    PROBLEMS = "problems"  # 问题清单
    ASSIGNMENTS = "assignments"  # 交办清单
    COMPLETIONS = "completions"  # 办结清单


class ListPage(BaseModel):
    kind: ListKind
    items: list[dict[str, Any]]
    limit: int
    offset: int
    next_offset: int | None = Field(description="Offset of the next page, or null on the last page.")


# -- batch jobs ----------------------------------------------------------------------------------
class JobKind(StrEnum):
    RECLASSIFY = "reclassify"
    IMPORT = "import"


ColumnName = Annotated[str, Field(min_length=1, max_length=255)]


class JobRequest(BaseModel):
    """Unknown fields are refused (a misspelt option must not be silently ignored)."""

    model_config = ConfigDict(extra="forbid")

    kind: JobKind
    statuses: list[CaseStatus] = Field(default_factory=list, description="reclassify: only these states.")
    since: Moment | None = Field(None, description="reclassify: cases created at or after.")
    until: Moment | None = Field(None, description="reclassify: cases created before.")
    input: str | None = Field(
        None,
        min_length=1,
        max_length=255,
        description="import: a CSV/XLSX/JSONL file in the server's import directory (TRIAGE_IMPORT_DIR), "
        "named relative to it.",
    )
    text_cols: list[ColumnName] = Field(
        default_factory=list, max_length=10, description="import: text column(s)."
    )
    title_col: ColumnName | None = None
    id_col: ColumnName | None = None
    time_col: ColumnName | None = None
    label_col: ColumnName | None = None
    status_col: ColumnName | None = None
    chunk_size: int = Field(DEFAULT_CHUNK_SIZE, ge=1, le=MAX_CHUNK_SIZE)
    resume: StrictBool = False


class JobStatus(BaseModel):
    id: str
    kind: str
    status: str
    progress: dict[str, Any] | None = None
    summary: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
