"""台账 and 矛盾纠纷 as JSON (:mod:`api.actions.ledgers`, the ledger pages' path too).

``GET /api/v1/ledgers/{requests|disputes|deputies|departments}`` with the pages' filters (grid,
community, street, date_from, date_to), ``GET /api/v1/ledgers/headline``; ``POST /api/v1/disputes``,
``GET /api/v1/disputes/{id}``, ``POST /api/v1/disputes/{id}/sessions``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query

from api.actions import ledgers
from api.deps import CurrentUser, ServiceDep
from api.limits import GRID_CHARS
from api.schemas import ERROR_RESPONSES
from api.schemas_deputies import (
    DepartmentLedgerRow,
    DeputyLedgerRow,
    DisputeCreate,
    DisputeDetail,
    DisputeOut,
    DisputesLedger,
    LedgerHeadline,
    MediationRequest,
    MediationSessionOut,
    RequestsLedger,
)
from api.validation import Day, day_query
from triage.store.models import Dispute, MediationSession
from triage.text.masking import mask_text

router = APIRouter(prefix="/api/v1", tags=["ledgers"], responses=ERROR_RESPONSES)
DisputeId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Grid = Annotated[str | None, Query(max_length=GRID_CHARS)]
Place = Annotated[str | None, Query(max_length=128)]
From = Annotated[Day | None, day_query("First local date (inclusive).")]
To = Annotated[Day | None, day_query("Last local date (inclusive).")]


@router.get("/ledgers/headline", response_model=LedgerHeadline)
def headline(
    service: ServiceDep,
    user: CurrentUser,
    grid: Grid = None,
    community: Place = None,
    street: Place = None,
    date_from: From = None,
    date_to: To = None,
) -> Any:
    """化解矛盾纠纷 N 起，办结民生实事 M 件，群众满意度 P % for the place and period."""
    f = ledgers.ledger_filter(
        user, "requests", grid=grid, community=community, street=street, date_from=date_from, date_to=date_to
    )
    return ledgers.headline(service, f)


@router.get(
    "/ledgers/{kind}",
    response_model=RequestsLedger | DisputesLedger | list[DeputyLedgerRow] | list[DepartmentLedgerRow],
)
def ledger(
    kind: Literal["requests", "disputes", "deputies", "departments"],
    service: ServiceDep,
    user: CurrentUser,
    grid: Grid = None,
    community: Place = None,
    street: Place = None,
    date_from: From = None,
    date_to: To = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Any:
    """民意诉求台账 / 矛盾纠纷台账 / 履职台账 / 部门 figures, in the caller's scope."""
    f = ledgers.ledger_filter(
        user, kind, grid=grid, community=community, street=street, date_from=date_from, date_to=date_to,
        limit=limit, offset=offset,
    )  # fmt: skip
    return ledgers.read(service, user, kind, f)


def _dispute_out(d: Dispute) -> DisputeOut:
    return DisputeOut(**(d.model_dump() | {"parties": mask_text(d.parties), "summary": mask_text(d.summary)}))


def _detail(d: Dispute, sessions: list[MediationSession]) -> DisputeDetail:
    mediation = [
        MediationSessionOut(
            held_at=m.held_at, mediator=m.mediator, note=mask_text(m.note), created_by=m.created_by
        )
        for m in sessions
    ]
    return DisputeDetail(**_dispute_out(d).model_dump(), mediation=mediation)


@router.post("/disputes", response_model=DisputeDetail, status_code=201)
def create_dispute(body: DisputeCreate, service: ServiceDep, user: CurrentUser) -> DisputeDetail:
    """A dispute for the 矛盾纠纷台账 (grid workers, deputies, admins); audited."""
    d = ledgers.create_dispute(service, user, **body.model_dump())
    assert d.id is not None
    return _detail(*ledgers.dispute(service, user, d.id))


@router.get("/disputes/{dispute_id}", response_model=DisputeDetail)
def get_dispute(dispute_id: DisputeId, service: ServiceDep, user: CurrentUser) -> DisputeDetail:
    return _detail(*ledgers.dispute(service, user, dispute_id))


@router.post("/disputes/{dispute_id}/sessions", response_model=DisputeDetail, status_code=201)
def add_session(
    dispute_id: DisputeId, body: MediationRequest, service: ServiceDep, user: CurrentUser
) -> DisputeDetail:
    """One mediation session; with ``outcome`` the dispute closes (409 once closed)."""
    ledgers.add_session(service, user, dispute_id, **body.model_dump())
    return _detail(*ledgers.dispute(service, user, dispute_id))
