"""Cases: submit (intake), read with history, search, and the live suggestion.

Only cases in the caller's scope are read or named (:mod:`api.access`): a case number in a
duplicate suggestion tells that the case exists, so suggestions outside the scope are dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from starlette.concurrency import run_in_threadpool

from api import access
from api.batching import TriageBatcher
from api.schemas import CaseCreate, CaseOut
from api.security import Principal
from triage.result import TriageResult
from triage.store.models import AuditEvent, Case, Feedback
from triage.store.search import CaseFilter
from triage.store.service import CaseService


def load_visible(service: CaseService, user: Principal, case_no: str) -> Case:
    """The case, or 403 when it lies outside the caller's department/grids (404: no such case)."""
    case = service.get(case_no)
    if not access.can_see(user, case):
        raise access.forbidden(f"case {case_no} is outside your scope")
    return case


def history(
    service: CaseService, user: Principal, case_no: str
) -> tuple[Case, list[AuditEvent], list[Feedback]]:
    """A case the caller may see, with its audit trail and feedback."""
    case = load_visible(service, user, case_no)
    return case, service.audit_trail(case_no), service.feedbacks(case_no)


def search(service: CaseService, user: Principal, f: CaseFilter, now: datetime | None = None) -> list[Case]:
    """Cases matching ``f`` within the caller's scope, newest first (``now``: the clock reading
    the caller also shows, for "overdue")."""
    return service.search(f, access.scope_of(user), now=now or service.clock())


def visibility(
    service: CaseService, user: Principal, case_nos: Sequence[str]
) -> Callable[[str | None], bool]:
    """May the caller open this case? (one query over ``case_nos``; none for unrestricted roles)."""
    return access.scope_filter(service.db, user, case_nos)


def hide_out_of_scope(service: CaseService, user: Principal, outs: Sequence[CaseOut]) -> None:
    """Drop the duplicate candidates and possible-duplicate links the caller may not open:
    a case number in a suggestion tells that the case exists (one query per response)."""
    numbers = [d.case_no for o in outs for d in o.duplicate_candidates]
    numbers += [o.possible_duplicate_of for o in outs if o.possible_duplicate_of]
    if not numbers:
        return
    visible = visibility(service, user, numbers)
    for o in outs:
        o.duplicate_candidates = [d for d in o.duplicate_candidates if visible(d.case_no)]
        if not visible(o.possible_duplicate_of):
            o.possible_duplicate_of = None


# -- submit ---------------------------------------------------------------------------------------
def submit_fields(user: Principal, body: CaseCreate, source: str | None = None) -> dict[str, Any]:
    """The keyword arguments of ``CaseService.submit`` for this caller and body.

    ``source`` is set by a channel endpoint (Open311); otherwise the body's source must be one
    the role may claim, and the grid one it may submit into (:mod:`api.access`, as the web form).
    """
    access.require(user, access.SUBMIT, "submit cases")
    return dict(
        text=body.text,
        title=body.title,
        source=source or access.submit_source(user, body.source.value if body.source else None),
        reporter_name=body.reporter_name,
        reporter_contact=body.reporter_phone,
        grid_code=access.submit_grid(user, body.grid),
        address=body.address,
        actor=user.username,
    )


def submit(
    service: CaseService,
    user: Principal,
    body: CaseCreate,
    source: str | None = None,
    *,
    possible_duplicate_of: str | None = None,
) -> Case:
    """Store a case for ``user``; ``possible_duplicate_of`` must be a case the user may open."""
    fields = submit_fields(user, body, source)
    return service.submit(**fields, possible_duplicate_of=possible_duplicate_of)


def duplicate_target(service: CaseService, user: Principal, case_no: str) -> Case | None:
    """The case a submitter names as the one theirs duplicates, if it exists and they may open it
    (None either way otherwise: nobody learns which case numbers exist outside their scope)."""
    return access.visible_case(service.db, user, case_no)


# -- the live suggestion ------------------------------------------------------------------------
async def suggest(
    service: CaseService, batcher: TriageBatcher, text: str, located: dict[str, str] | None = None
) -> TriageResult:
    """The suggestion for a message (nothing is stored); ``located`` (district, street, community,
    address, grid_code) lets a city's department model pick the responsible district's unit."""
    fields = await run_in_threadpool(service.location_fields, located) if located else None
    return await batcher.triage(text, fields)
