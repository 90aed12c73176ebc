"""台账 and 矛盾纠纷: which ledger a role may read and over which place, and recording disputes
(one path for the JSON router, the ledger pages and their XLSX exports).

Grid workers and deputies read their own grids (the first one unless they name another of
theirs); a department reads the requests it handles and its own row of the departments ledger;
admins, reviewers and operators read everything.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import Any

from api import access
from api.actions.cases import load_visible
from api.errors import ApiError
from api.security import Principal
from triage.store.ledgers import LEDGERS, LedgerFilter
from triage.store.models import Dispute, MediationSession, Role
from triage.store.service import CaseService
from triage.text.masking import mask_record, mask_text


def ledger_filter(
    user: Principal,
    kind: str,
    *,
    grid: str | None = None,
    community: str | None = None,
    street: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    limit: int = 100,
    offset: int = 0,
) -> LedgerFilter:
    """The caller's filter for ledger ``kind``, narrowed to their scope (403 outside it)."""
    if kind not in LEDGERS:
        raise ApiError(
            404, "not_found", f"unknown ledger {kind!r}; known: {', '.join(LEDGERS)}", field="kind"
        )
    allowed = access.LEDGER_KINDS_BY_ROLE.get(user.role)
    if allowed is not None and kind not in allowed:
        raise access.forbidden(f"role {user.role} may not read the {kind} ledger")
    if user.role in access.GRID_BOUND:
        if grid and grid not in user.grids:
            raise access.forbidden(f"grid {grid} is not one of yours")
        grid = grid or (user.grids[0] if user.grids else "")
    f = LedgerFilter(
        grid_code=grid if user.role in access.GRID_BOUND else (grid or None),  # "": no grids, no rows
        community=community or None,
        street=street or None,
        date_from=date_from,
        date_to=date_to,
        limit=limit,
        offset=offset,
    )
    return replace(f, scope=access.scope_of(user))


def read(service: CaseService, user: Principal, kind: str, f: LedgerFilter) -> Any:
    """The ledger's figures and rows (personal data masked)."""
    data = service.ledger(kind, f)
    if kind == "departments" and user.role == Role.DEPARTMENT:
        data = [r for r in data if r["department_code"] == user.department_code]
    if kind == "disputes":
        for row in data["rows"]:
            row["parties"] = mask_text(row["parties"])
            row["summary"] = mask_text(row["summary"])
    if kind == "requests":
        data["rows"] = [mask_record(row) or {} for row in data["rows"]]  # title, text, address
    return data


def create_dispute(
    service: CaseService,
    user: Principal,
    *,
    title: str,
    parties: str,
    summary: str,
    case_no: str | None = None,
    grid: str | None = None,
    community: str | None = None,
    street: str | None = None,
) -> Dispute:
    access.require(user, access.DISPUTES, "record 矛盾纠纷")
    if case_no:
        load_visible(service, user, case_no)
    elif user.role in access.GRID_BOUND and (not grid or grid not in user.grids):
        raise access.forbidden("a dispute without a case must name one of your grids (grid)")
    return service.disputes.create(
        user.username,
        title=title,
        parties=parties,
        summary=summary,
        case_no=case_no,
        grid_code=grid,
        community=community,
        street=street,
    )


def dispute(service: CaseService, user: Principal, dispute_id: int) -> tuple[Dispute, list[MediationSession]]:
    found, sessions = service.disputes.get(dispute_id)
    if user.role == Role.DEPARTMENT or (user.role in access.GRID_BOUND and found.grid_code not in user.grids):
        raise access.forbidden(f"dispute {dispute_id} is outside your scope")
    return found, sessions


def add_session(
    service: CaseService,
    user: Principal,
    dispute_id: int,
    *,
    mediator: str,
    note: str,
    held_at: datetime | None = None,
    outcome: str | None = None,
) -> Dispute:
    access.require(user, access.DISPUTES, "record mediation sessions")
    dispute(service, user, dispute_id)
    return service.disputes.add_session(
        dispute_id, user.username, mediator=mediator, note=note, held_at=held_at, outcome=outcome
    )


def headline(service: CaseService, f: LedgerFilter) -> dict[str, Any]:
    """化解矛盾纠纷 N 起，办结民生实事 M 件，群众满意度 P % for ``f`` (built by :func:`ledger_filter`)."""
    return service.ledger_headline(f)
