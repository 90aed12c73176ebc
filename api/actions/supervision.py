"""督办, 吹哨报到 and 回访: who may supervise, escalate, report in and call back, on which cases (one
path for the JSON router and the case page).

A deputy acts only on the cases of their grids and a grid worker on those they can see
(:func:`api.access.can_see`), so nobody escalates a case out of their scope; the receiving
department reports in on the cases now decided for it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from api import access
from api.actions.cases import load_visible
from api.schemas_deputies import (
    EscalationOut,
    FollowUpOut,
    FollowUpTaskOut,
    SupervisionOut,
    SupervisionThreadOut,
)
from api.security import Principal
from triage.route.config import LEVELS
from triage.store.lifecycle import ACTIVE_STATUSES
from triage.store.models import Case, Escalation, Supervision
from triage.store.models.base import as_utc
from triage.store.service import CaseService
from triage.store.supervision import SupervisionRow, supervision_state
from triage.text.masking import mask_contact, mask_text


def supervision_out(sup: Supervision, case: Case, now: datetime) -> SupervisionOut:
    assert sup.id is not None
    return SupervisionOut(
        id=sup.id,
        case_no=sup.case_no,
        requirement=sup.requirement,
        due=sup.due,
        created_by=sup.created_by,
        created_at=sup.created_at,
        state=supervision_state(sup, case, now),
        department_code=case.department_code,
        title=case.title,
    )


def escalation_out(esc: Escalation, now: datetime) -> EscalationOut:
    assert esc.id is not None
    waiting = esc.reported_in_at is None and esc.superseded_at is None
    return EscalationOut(
        **esc.model_dump(exclude={"case_id"}), overdue=waiting and as_utc(now) > as_utc(esc.report_due)
    )


def supervise(
    service: CaseService, user: Principal, case_no: str, requirement: str, due: datetime
) -> SupervisionOut:
    access.require(user, access.SUPERVISE, "put cases under supervision (督办)")
    load_visible(service, user, case_no)
    sup = service.supervision.supervise(case_no, user.username, requirement, due)
    return supervision_out(sup, service.get(case_no), service.clock())


def escalate(
    service: CaseService,
    user: Principal,
    case_no: str,
    reason: str,
    *,
    to_level: str | None = None,
    to_department: str | None = None,
) -> EscalationOut:
    access.require(user, access.ESCALATE, "escalate cases (吹哨)")
    load_visible(service, user, case_no)
    esc = service.supervision.escalate(
        case_no, user.username, reason, to_level=to_level, to_department=to_department
    )
    return escalation_out(esc, service.clock())


def report_in(service: CaseService, user: Principal, case_no: str) -> EscalationOut:
    access.require(user, access.REPORT_IN, "report in on escalated cases (报到)")
    load_visible(service, user, case_no)  # a department: only cases now decided for it
    return escalation_out(service.supervision.report_in(case_no, user.username), service.clock())


def thread(service: CaseService, user: Principal, case_no: str) -> SupervisionThreadOut:
    case = load_visible(service, user, case_no)
    found, now = service.supervision.thread(case_no), service.clock()
    return SupervisionThreadOut(
        case_no=case_no,
        supervisions=[supervision_out(s, case, now) for s in found.supervisions],
        escalations=[escalation_out(e, now) for e in found.escalations],
    )


def supervisions(
    service: CaseService,
    user: Principal,
    *,
    state: str | None = None,
    mine: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> list[SupervisionOut]:
    """Supervisions on the cases the caller can see (a deputy's: their grids; ``mine``: their own)."""
    rows: list[SupervisionRow] = service.supervision.supervisions(
        access.scope_of(user),
        state=state,
        created_by=user.username if mine else None,
        limit=limit,
        offset=offset,
    )
    now = service.clock()
    return [supervision_out(r.supervision, r.case, now) for r in rows]


def open_whistles(
    service: CaseService, user: Principal, *, overdue_only: bool = False, limit: int = 100
) -> list[EscalationOut]:
    """Whistles waiting for a report-in: a department's own; everyone else's within their scope."""
    scope = access.scope_of(user)
    found = service.supervision.open_whistles(scope.department_code, overdue_only=overdue_only, limit=limit)
    now = service.clock()
    return [escalation_out(esc, now) for esc, case in found if access.can_see(user, case)]


def panel(service: CaseService, user: Principal, case: Case) -> dict[str, Any]:
    """督办与吹哨 on the case page: the thread, department names, and the forms this user may use."""
    found, now = service.supervision.thread(case.case_no), service.clock()
    active = case.status in ACTIVE_STATUSES
    departments = service.catalog.departments() if service.has_catalog else []
    names = department_names(service)
    rank = LEVELS.index(case.level) if case.level in LEVELS else -1
    targets = [
        d
        for d in departments
        if d.code != case.department_code and (d.level not in LEVELS or LEVELS.index(d.level) >= rank)
    ]
    whistle = found.open_whistle
    return {
        "supervisions": [supervision_out(s, case, now) for s in found.supervisions],
        "escalations": [escalation_out(e, now) for e in found.escalations],
        "department_names": names,
        "may_supervise": active and user.role in access.SUPERVISE,
        "may_escalate": active and user.role in access.ESCALATE and service.has_catalog,
        "may_report_in": whistle is not None and user.role in access.REPORT_IN and access.can_see(user, case),
        "levels_above": list(LEVELS[rank + 1 :]),
        "targets": sorted(
            targets, key=lambda d: (LEVELS.index(d.level) if d.level in LEVELS else 99, d.name)
        ),
    }


def followup(
    service: CaseService, user: Principal, case_no: str, rating: str, comment: str | None = None
) -> FollowUpOut:
    """One 回访 call (who may: :data:`api.access.FOLLOWUP`, on the resolved cases they can see)."""
    access.require(user, access.FOLLOWUP, "record 回访 calls")
    load_visible(service, user, case_no)
    call = service.followups.followup(case_no, user.username, rating, comment)
    assert call.id is not None
    return FollowUpOut(**call.model_dump(exclude={"case_id"}), case_status=service.get(case_no).status)


def followup_tasks(
    service: CaseService, user: Principal, *, limit: int = 50, offset: int = 0
) -> list[FollowUpTaskOut]:
    """Resolved cases in the caller's scope waiting for a call, the longest-waiting first."""
    access.require(user, access.FOLLOWUP, "make 回访 calls")
    tasks = service.followups.tasks(access.scope_of(user), limit=limit, offset=offset)
    return [
        FollowUpTaskOut(
            case_no=t.case.case_no,
            title=mask_text(t.case.title) or None,
            department_code=t.case.department_code,
            resolved_at=t.case.resolved_at,
            attempts=t.attempts,
            reporter_contact=mask_contact(t.case.reporter_contact),
        )
        for t in tasks
    ]


def department_names(service: CaseService) -> dict[str, str]:
    """Department code → name from the routing file (pages show names, not codes)."""
    return {d.code: d.name for d in service.catalog.departments()} if service.has_catalog else {}
