"""显示联系电话 on the case page: an explicit POST (with CSRF) that reveals the reporter's contact
once, on that response only, through the same audited action as the API (:mod:`api.actions.contact`).

The number is never put in the session, a redirect or a URL: reloading the case page shows it
masked again, and every reveal is an audit event in the case's history.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from api.actions import contact
from api.errors import ApiError
from api.web.cases import case_context
from api.web.forms import form_str
from api.web.render import PageRoute, render
from api.web.session import CsrfForm, PageError, PageUser
from triage.store.service import CaseService

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@router.post("/cases/{case_no}/contact")
def reveal_contact(request: Request, case_no: str, user: PageUser, form: CsrfForm) -> Response:
    service: CaseService = request.app.state.service
    case_no = case_no[:20]
    try:
        shown = contact.reveal(service, user, case_no, form_str(form, "reason", 200) or None)
    except ApiError as exc:
        if exc.status == 403:
            raise PageError(403, "您无权查看该案件反映人的联系电话。") from None
        raise
    ctx = case_context(service, user, case_no)
    ctx.update(
        reporter_name=shown.reporter_name,
        reporter_contact=shown.reporter_contact,
        contact_revealed=True,
    )
    response = render(request, "case.html", ctx)
    response.headers["Cache-Control"] = "no-store"  # the page holds the number: never cached
    return response
