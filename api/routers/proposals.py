"""代表建议 as JSON (:mod:`api.actions.proposals`, the proposal pages' path too).

``GET/POST /api/v1/proposals``, ``GET /api/v1/proposals/{id}``, ``POST …/{id}/answer`` (the target
department's 答复), ``POST …/{id}/rating`` (the deputy's rating; 不满意 sends it back).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from api.actions import proposals
from api.deps import CurrentUser, ServiceDep
from api.limits import LIST_LIMIT, MAX_LIST_LIMIT
from api.schemas import ERROR_RESPONSES
from api.schemas_deputies import (
    ProposalAnswerRequest,
    ProposalCreate,
    ProposalDetail,
    ProposalOut,
    ProposalRatingRequest,
)

router = APIRouter(prefix="/api/v1/proposals", tags=["proposals"], responses=ERROR_RESPONSES)
ProposalId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("", response_model=list[ProposalOut])
def list_proposals(
    service: ServiceDep,
    user: CurrentUser,
    status: Literal["assigned", "answered", "closed"] | None = None,
    overdue: bool = False,
    limit: Annotated[int, Query(ge=1, le=MAX_LIST_LIMIT)] = LIST_LIMIT,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[ProposalOut]:
    """A deputy's own proposals, a department's addressed ones, or all (admin, reviewer, operator)."""
    return proposals.listing(service, user, status=status, overdue=overdue, limit=limit, offset=offset)


@router.post("", response_model=ProposalDetail, status_code=201)
def create_proposal(body: ProposalCreate, service: ServiceDep, user: CurrentUser) -> ProposalDetail:
    """A deputy's proposal to a department, linking cases of their grids; audited."""
    return proposals.create(service, user, body)


@router.get("/{proposal_id}", response_model=ProposalDetail)
def get_proposal(proposal_id: ProposalId, service: ServiceDep, user: CurrentUser) -> ProposalDetail:
    return proposals.detail(service, user, proposal_id)


@router.post("/{proposal_id}/answer", response_model=ProposalDetail)
def answer_proposal(
    proposal_id: ProposalId, body: ProposalAnswerRequest, service: ServiceDep, user: CurrentUser
) -> ProposalDetail:
    """答复 by the target department (409 unless it is waiting for an answer)."""
    return proposals.answer(service, user, proposal_id, body.answer)


@router.post("/{proposal_id}/rating", response_model=ProposalDetail)
def rate_proposal(
    proposal_id: ProposalId, body: ProposalRatingRequest, service: ServiceDep, user: CurrentUser
) -> ProposalDetail:
    """The writing deputy rates the answer (409 unless answered)."""
    return proposals.rate(service, user, proposal_id, body.rating, body.comment)
