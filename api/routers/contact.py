"""``POST /api/v1/cases/{case_no}/contact``: reveal a reporter's contact for a call back, audited
(:mod:`api.actions.contact`; who may is :data:`api.access.REVEAL_CONTACT`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path

from api.actions import contact
from api.deps import CurrentUser, ServiceDep
from api.schemas import ERROR_RESPONSES, ContactOut, ContactRequest

router = APIRouter(prefix="/api/v1/cases", tags=["cases"], responses=ERROR_RESPONSES)

CaseNo = Annotated[str, Path(max_length=20, description="Public case number, e.g. 2026112200001.")]


@router.post("/{case_no}/contact", response_model=ContactOut)
def reveal_contact(
    case_no: CaseNo,
    service: ServiceDep,
    user: CurrentUser,
    body: Annotated[ContactRequest | None, Body()] = None,
) -> ContactOut:
    """The reporter's name and contact unmasked, for the handling department, operators and admins
    (403 for every other role or a case outside the caller's scope). Each call is an audit event
    ``reveal_contact`` (who, when, which case); the number stays masked in every other response."""
    return contact.reveal(service, user, case_no, body.reason if body else None)
