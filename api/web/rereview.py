"""待复核: reviewed cases that a batch reclassification now disputes, with 维持原判 / 改为新类别.

The list and the answers go through the same actions as ``/api/v1/rereview``
(:mod:`api.actions.rereview`: same scoping, validation and store calls), so the two always agree.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import ValidationError as PydanticValidationError
from starlette.responses import Response

from api.access import REVIEW
from api.actions import rereview
from api.errors import ApiError
from api.limits import CATEGORY_CHARS, NOTE_CHARS, PAGE_SIZE
from api.schemas import RereviewRequest
from api.web.forms import form_int, form_str
from api.web.render import PageRoute, describe, redirect, render
from api.web.session import CsrfForm, PageUser, flash, require_role
from triage.errors import TriageError
from triage.store.service import CaseService

router = APIRouter(route_class=PageRoute, include_in_schema=False)

MAX_PAGE = 10_000


def _service(request: Request) -> CaseService:
    return request.app.state.service


@router.get("/rereview")
def rereview_page(request: Request, user: PageUser, page: str = "1") -> Response:
    require_role(user, REVIEW)
    number = min(max(int(page), 1), MAX_PAGE) if page.isdigit() else 1
    result = rereview.open_flags(_service(request), user, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE)
    ctx = {"page": result, "number": number, "has_next": result.next_offset is not None}
    return render(request, "rereview.html", ctx)


@router.post("/rereview/{case_no}/{action}")
def rereview_answer(request: Request, case_no: str, action: str, user: PageUser, form: CsrfForm) -> Response:
    require_role(user, REVIEW)
    back = "/rereview" + (f"?page={p}" if (p := form_str(form, "page", 6)).isdigit() and p != "1" else "")
    fields: dict[str, object] = {"action": action, "note": form_str(form, "note", NOTE_CHARS) or None}
    if action == "correct":
        category = form_str(form, "category", CATEGORY_CHARS) or None
        fields.update(category=category, version=form_int(form, "version"))
    try:
        body = RereviewRequest.model_validate(fields)
        result = rereview.answer(_service(request), user, case_no[:20], body)
    except PydanticValidationError:
        flash(request, "操作无效，请刷新页面后重试。", "error")
        return redirect(back)
    except (ApiError, TriageError) as exc:
        status, message = describe(exc)
        if status == 403:
            raise
        flash(request, f"案件 {case_no[:20]}：{message}", "error")
        return redirect(back)
    if result.action == "dismiss":
        flash(request, f"案件 {result.case.case_no} 已维持原判，复核标记已清除。")
    else:
        flash(request, f"案件 {result.case.case_no} 已改为“{result.case.category}”并重新交办。")
    return redirect(back)
