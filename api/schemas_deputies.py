"""Request and response models of the deputies' loop (督办, 吹哨报到, 回访, 代表建议): OpenAPI schema.

Apart from :mod:`api.schemas` so each part stays small. A ``due`` without a UTC offset is read as
the city's local time (``triage.config.LOCAL_TZ``), as people type it on the pages.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from api.limits import CASE_NO_CHARS, DEPARTMENT_CODE_CHARS, GRID_CHARS, NOTE_CHARS
from api.validation import Moment
from triage.config import LOCAL_TZ, PROPOSAL_TEXT_MAX_CHARS
from triage.route.config import Level
from triage.store.proposals import MAX_PROPOSAL_CASES, TITLE_MAX_CHARS


def _local_if_naive(value: datetime) -> datetime:
    return value.replace(tzinfo=LOCAL_TZ) if value.tzinfo is None else value


LocalMoment = Annotated[Moment, AfterValidator(_local_if_naive)]


class SuperviseRequest(BaseModel):
    """``POST /api/v1/cases/{case_no}/supervise``: a requirement the department must meet by ``due``."""

    model_config = ConfigDict(extra="forbid")
    requirement: str = Field(min_length=1, max_length=NOTE_CHARS, description="督办要求.")
    due: LocalMoment = Field(description="When it must be met: ISO 8601; without an offset, local time.")


class EscalateRequest(BaseModel):
    """``POST /api/v1/cases/{case_no}/escalate``: 吹哨. Neither target given: one level up."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=NOTE_CHARS, description="Why the grid cannot solve it.")
    to_level: Level | None = Field(default=None, description="网格/社区/街道/区/市.")
    to_department: str | None = Field(default=None, max_length=DEPARTMENT_CODE_CHARS)


class SupervisionOut(BaseModel):
    id: int
    case_no: str
    requirement: str
    due: datetime
    created_by: str
    created_at: datetime
    state: Literal["open", "met", "overdue"]
    department_code: str | None = None
    title: str | None = None


class EscalationOut(BaseModel):
    id: int
    case_no: str
    from_level: str | None
    to_level: str
    from_department_code: str | None
    to_department_code: str
    reason: str
    escalated_by: str
    escalated_at: datetime
    report_due: datetime
    reported_in_by: str | None
    reported_in_at: datetime | None
    superseded_at: datetime | None
    overdue: bool = Field(description="No report-in yet and the report-in time has passed.")


class SupervisionThreadOut(BaseModel):
    """督办与吹哨 of one case, oldest first."""

    case_no: str
    supervisions: list[SupervisionOut]
    escalations: list[EscalationOut]


class FollowUpRequest(BaseModel):
    """``POST /api/v1/cases/{case_no}/followup``: one 回访 call on a resolved case."""

    model_config = ConfigDict(extra="forbid")
    rating: Literal["satisfied", "basically_satisfied", "unsatisfied", "unreachable"] = Field(
        description="满意 / 基本满意 close the case; 不满意 sends it back (重办); 未接通 is tried again and "
        "closes the case as 未回访 after the last attempt."
    )
    comment: str | None = Field(default=None, max_length=NOTE_CHARS)


class FollowUpOut(BaseModel):
    id: int
    case_no: str
    rating: str
    outcome: Literal["closed", "rehandle", "retry", "unreached"]
    attempt: int
    comment: str | None
    department_code: str | None
    created_by: str
    created_at: datetime
    case_status: str


class FollowUpTaskOut(BaseModel):
    """A resolved case waiting for its 回访 call."""

    case_no: str
    title: str | None
    department_code: str | None
    resolved_at: datetime | None
    attempts: int
    reporter_contact: str | None = Field(description="Masked; reveal it with POST …/contact.")


class ProposalCreate(BaseModel):
    """``POST /api/v1/proposals``: a deputy's 代表建议 from a hot issue or hand-picked cases."""

    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=TITLE_MAX_CHARS)
    problem: str = Field(min_length=1, max_length=PROPOSAL_TEXT_MAX_CHARS, description="问题.")
    suggestion: str = Field(min_length=1, max_length=PROPOSAL_TEXT_MAX_CHARS, description="建议.")
    department_code: str = Field(min_length=1, max_length=DEPARTMENT_CODE_CHARS, description="承办部门.")
    case_nos: list[Annotated[str, Field(max_length=CASE_NO_CHARS)]] = Field(
        default_factory=list, max_length=MAX_PROPOSAL_CASES, description="The cases it grew from."
    )


class ProposalAnswerRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    answer: str = Field(min_length=1, max_length=PROPOSAL_TEXT_MAX_CHARS, description="答复.")


class ProposalRatingRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rating: Literal["satisfied", "basically_satisfied", "unsatisfied"] = Field(
        description="满意 / 基本满意 close it; 不满意 sends it back to the department with a new due date."
    )
    comment: str | None = Field(default=None, max_length=NOTE_CHARS)


class ProposalOut(BaseModel):
    id: int
    title: str
    problem: str
    suggestion: str
    department_code: str
    grid_code: str | None
    created_by: str
    created_at: datetime
    status: Literal["assigned", "answered", "closed"]
    answer_due: datetime
    overdue: bool = Field(description="Waiting for an answer past answer_due.")
    answer: str | None
    answered_by: str | None
    answered_at: datetime | None
    rating: str | None
    rating_comment: str | None
    rated_at: datetime | None
    rehandle_count: int


class ProposalCaseOut(BaseModel):
    case_no: str
    title: str | None
    status: str


class ProposalDetail(ProposalOut):
    cases: list[ProposalCaseOut] = Field(description="Linked cases the caller may see.")


# -- 台账 and 矛盾纠纷 ------------------------------------------------------------------------------------
class DisputeCreate(BaseModel):
    """``POST /api/v1/disputes``: a dispute from a case (its place is taken) or with a grid."""

    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=TITLE_MAX_CHARS)
    parties: str = Field(min_length=1, max_length=NOTE_CHARS, description="当事人.")
    summary: str = Field(min_length=1, max_length=PROPOSAL_TEXT_MAX_CHARS, description="纠纷概要.")
    case_no: str | None = Field(default=None, max_length=CASE_NO_CHARS)
    grid: str | None = Field(default=None, max_length=GRID_CHARS)
    community: str | None = Field(default=None, max_length=128)
    street: str | None = Field(default=None, max_length=128)


class MediationRequest(BaseModel):
    """``POST /api/v1/disputes/{id}/sessions``: one mediation session; ``outcome`` closes the dispute."""

    model_config = ConfigDict(extra="forbid")
    mediator: str = Field(min_length=1, max_length=64)
    note: str = Field(min_length=1, max_length=NOTE_CHARS)
    held_at: LocalMoment | None = Field(default=None, description="Default: now. Not in the future.")
    outcome: Literal["resolved", "failed", "litigation"] | None = Field(
        default=None, description="调解成功 / 调解未成功 / 转诉讼."
    )


class DisputeOut(BaseModel):
    id: int
    case_no: str | None
    title: str
    parties: str = Field(description="Masked.")
    summary: str = Field(description="Masked.")
    grid_code: str | None
    community: str | None
    street: str | None
    created_by: str
    created_at: datetime
    outcome: str | None
    closed_at: datetime | None
    sessions: int


class MediationSessionOut(BaseModel):
    held_at: datetime
    mediator: str
    note: str
    created_by: str


class DisputeDetail(DisputeOut):
    mediation: list[MediationSessionOut]


class DisputesLedger(BaseModel):
    total: int
    open: int
    resolved: int
    failed: int
    litigation: int
    rows: list[DisputeOut]


class RequestsLedger(BaseModel):
    total: int
    rows: list[dict[str, Any]] = Field(description="问题清单 rows (masked), newest first.")


class DeputyLedgerRow(BaseModel):
    username: str
    display_name: str
    residents_met: int = Field(description="Citizens behind the matters the deputy collected.")
    collected: int
    supervised: int
    whistles: int
    proposals: int
    resolved: int
    rated: int
    satisfied: int
    satisfaction_rate: float | None


class DepartmentLedgerRow(BaseModel):
    department_code: str
    received: int
    resolved: int
    on_time: int
    on_time_rate: float | None = Field(description="限时办结率: resolved by the deadline ÷ resolved.")
    rehandled: int
    rehandle_rate: float | None = Field(description="重办率: 回访 不满意 ÷ resolved.")
    rated: int
    satisfied: int
    satisfaction_rate: float | None = Field(description="基本满意 or better ÷ rated.")
    supervision_missed: int
    whistles_late: int


class LedgerHeadline(BaseModel):
    """化解矛盾纠纷 N 起，办结民生实事 M 件，群众满意度 P %."""

    disputes_mediated: int
    cases_resolved: int
    rated: int
    satisfaction_rate: float | None
