"""代表建议: who may write, answer, rate and read proposals (one path for the JSON router and pages).

A deputy sees and rates their own proposals and links only cases they can see; a department sees
and answers the proposals addressed to it; admins, reviewers and operators read all of them.
"""

from __future__ import annotations

from api import access
from api.schemas_deputies import ProposalCaseOut, ProposalCreate, ProposalDetail, ProposalOut
from api.security import Principal
from triage.store.models import Proposal, ProposalStatus, Role
from triage.store.models.base import as_utc
from triage.store.proposals import ProposalScope
from triage.store.service import CaseService
from triage.text.masking import mask_text


def scope_of(user: Principal) -> ProposalScope:
    access.require(user, access.PROPOSALS_READ, "read 代表建议")
    if user.role == Role.DEPUTY:
        return ProposalScope(created_by=user.username)
    if user.role == Role.DEPARTMENT:
        return ProposalScope(department_code=user.department_code or "")
    return ProposalScope()


def _visible(user: Principal, p: Proposal) -> bool:
    scope = scope_of(user)
    if scope.created_by is not None and p.created_by != scope.created_by:
        return False
    return scope.department_code is None or p.department_code == scope.department_code


def proposal_out(service: CaseService, p: Proposal) -> ProposalOut:
    assert p.id is not None
    waiting = p.status == ProposalStatus.ASSIGNED
    overdue = waiting and as_utc(service.clock()) > as_utc(p.answer_due)
    return ProposalOut(**p.model_dump(), overdue=overdue)


def create(service: CaseService, user: Principal, body: ProposalCreate) -> ProposalDetail:
    access.require(user, access.PROPOSE, "write 代表建议")
    if not access.unrestricted(user):  # unknown and out-of-scope alike: no probing of other grids
        seen = access.visible_case_nos(service.db, user, body.case_nos)
        hidden = [n for n in body.case_nos if n not in seen]
        if hidden:
            raise access.forbidden(f"cases not in your scope: {', '.join(hidden[:5])}")
    grid = user.grids[0] if user.grids else None
    p = service.proposals.create(
        user.username,
        title=body.title,
        problem=body.problem,
        suggestion=body.suggestion,
        department_code=body.department_code,
        case_nos=body.case_nos,
        grid_code=grid,
    )
    assert p.id is not None
    return detail(service, user, p.id)


def detail(service: CaseService, user: Principal, proposal_id: int) -> ProposalDetail:
    p, cases = service.proposals.get(proposal_id)
    if not _visible(user, p):
        raise access.forbidden(f"proposal {proposal_id} is outside your scope")
    shown = [c for c in cases if access.can_see(user, c)]
    linked = [
        ProposalCaseOut(case_no=c.case_no, title=mask_text(c.title) or None, status=c.status) for c in shown
    ]
    return ProposalDetail(**proposal_out(service, p).model_dump(), cases=linked)


def listing(
    service: CaseService,
    user: Principal,
    *,
    status: str | None = None,
    overdue: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> list[ProposalOut]:
    found = service.proposals.list(scope_of(user), status=status, overdue=overdue, limit=limit, offset=offset)
    return [proposal_out(service, p) for p in found]


def answer(service: CaseService, user: Principal, proposal_id: int, text: str) -> ProposalDetail:
    access.require(user, access.ANSWER_PROPOSAL, "answer 代表建议")
    detail(service, user, proposal_id)  # 404 / 403 outside the department
    service.proposals.answer(proposal_id, user.username, text)
    return detail(service, user, proposal_id)


def rate(
    service: CaseService, user: Principal, proposal_id: int, rating: str, comment: str | None
) -> ProposalDetail:
    access.require(user, access.PROPOSE, "rate answers to 代表建议")
    p, _ = service.proposals.get(proposal_id)
    if user.role != Role.ADMIN and p.created_by != user.username:
        raise access.forbidden("only the deputy who wrote the proposal rates its answer")
    service.proposals.rate(proposal_id, user.username, rating, comment)
    return detail(service, user, proposal_id)
