"""督办与吹哨 and 回访 on the case page: supervise, escalate, report in and record a call through the
same actions as the JSON API (:mod:`api.actions.supervision`); errors re-render the case page naming
the field."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi import APIRouter, Request
from starlette.datastructures import FormData
from starlette.responses import Response

from api import access
from api.actions import supervision
from api.errors import ApiError
from api.limits import NOTE_CHARS, PAGE_SIZE
from api.security import Principal
from api.web.cases import case_context
from api.web.forms import form_str, safe_next
from api.web.render import PageRoute, describe, redirect, render
from api.web.session import CsrfForm, PageError, PageUser, flash
from triage.config import LOCAL_TZ
from triage.errors import TriageError
from triage.store.errors import ValidationError
from triage.store.service import CaseService

router = APIRouter(route_class=PageRoute, include_in_schema=False)
FIELDS = ("requirement", "due", "reason", "to_level", "to_department", "rating", "comment")
# What a 回访 call did to the case, for the flash message.
FOLLOWUP_DONE = {
    "closed": "回访完成，已结案",
    "rehandle": "回访不满意，已退回部门重新办理",
    "retry": "未接通，已记录第 {n} 次回访",
    "unreached": "{n} 次未接通，已按未回访结案",
}


def _due(value: str) -> datetime:
    """A ``datetime-local`` value (the city's local time) from the form."""
    try:
        return datetime.fromisoformat(value).replace(tzinfo=LOCAL_TZ)
    except ValueError:
        raise ValidationError("请填写督办期限", code="invalid_due", field="due") from None


def _act(
    request: Request,
    user: Principal,
    case_no: str,
    form: FormData,
    action: str,
    step: Callable[[CaseService], str],
    back: str | None = None,
) -> Response:
    """Run ``step``; on success flash what it says it did and go ``back`` (default: the panel), else
    show the case page with the error next to its field."""
    service: CaseService = request.app.state.service
    case_no = case_no[:20]
    try:
        done = step(service)
    except (ApiError, TriageError) as exc:
        status, message = describe(exc)
        if status in (403, 404):
            raise
        field = getattr(exc, "field", None)
        ctx = case_context(service, user, case_no)
        ctx.update(
            errors={field if field in FIELDS else "_": message},
            open=action,
            values={n: form_str(form, n, NOTE_CHARS) for n in FIELDS},
        )
        return render(request, "case.html", ctx, status=status)
    flash(request, f"案件 {case_no} {done}。")
    return redirect(back or f"/cases/{case_no}#supervision")


@router.post("/cases/{case_no}/supervise")
def supervise(request: Request, case_no: str, user: PageUser, form: CsrfForm) -> Response:
    requirement, due = form_str(form, "requirement", NOTE_CHARS), form_str(form, "due", 40)

    def step(service: CaseService) -> str:
        supervision.supervise(service, user, case_no[:20], requirement, _due(due))
        return "已列入督办"

    return _act(request, user, case_no, form, "supervise", step)


@router.post("/cases/{case_no}/escalate")
def escalate(request: Request, case_no: str, user: PageUser, form: CsrfForm) -> Response:
    reason = form_str(form, "reason", NOTE_CHARS)
    target = form_str(form, "target", 80)  # "level:街道" or "department:housing" or "" (one level up)
    kind, _, value = target.partition(":")

    def step(service: CaseService) -> str:
        to_level = value if kind == "level" and value else None
        to_department = value if kind == "department" and value else None
        out = supervision.escalate(
            service, user, case_no[:20], reason, to_level=to_level, to_department=to_department
        )
        return f"已吹哨至{out.to_level}，等待接收部门报到"

    return _act(request, user, case_no, form, "escalate", step)


@router.post("/cases/{case_no}/report-in")
def report_in(request: Request, case_no: str, user: PageUser, form: CsrfForm) -> Response:
    def step(service: CaseService) -> str:
        supervision.report_in(service, user, case_no[:20])
        return "已报到"

    back = safe_next(form_str(form, "next", 2000))  # from the desk's 吹哨待报到 list: back there
    return _act(request, user, case_no, form, "report_in", step, back=back)


@router.post("/cases/{case_no}/followup")
def followup(request: Request, case_no: str, user: PageUser, form: CsrfForm) -> Response:
    rating, comment = form_str(form, "rating", 40), form_str(form, "comment", NOTE_CHARS)

    def call(service: CaseService) -> str:
        out = supervision.followup(service, user, case_no[:20], rating, comment or None)
        return FOLLOWUP_DONE[out.outcome].format(n=out.attempt)

    back = safe_next(form_str(form, "back", 500))
    return _act(request, user, case_no, form, "followup", call, back)


SUPERVISION_STATE_LABELS = {"open": "督办中", "overdue": "督办逾期", "met": "按期办结"}


@router.get("/supervision")
def supervision_page(request: Request, user: PageUser, state: str = "", mine: str = "") -> Response:
    """督办回访: a deputy's supervisions, a department's whistles to report in on, the 回访 calls due."""
    service: CaseService = request.app.state.service
    state = state if state in SUPERVISION_STATE_LABELS else ""
    sees = {
        "supervisions": user.role in access.SUPERVISE | access.DESK | access.READ_ALL,
        "whistles": user.role in access.REPORT_IN | access.ESCALATE | access.READ_ALL,
        "followups": user.role in access.FOLLOWUP,
    }
    if not any(sees.values()):
        raise PageError(403, "您的账号没有督办、报到或回访任务。")
    ctx: dict[str, object] = {
        "sees": sees,
        "state": state,
        "mine": bool(mine) and user.role in access.SUPERVISE,
        "state_labels": SUPERVISION_STATE_LABELS,
        "supervisions": [],
        "whistles": [],
        "followups": [],
    }
    if sees["supervisions"]:
        ctx["supervisions"] = supervision.supervisions(
            service, user, state=state or None, mine=bool(ctx["mine"]), limit=PAGE_SIZE
        )
    if sees["whistles"]:
        ctx["whistles"] = supervision.open_whistles(service, user, limit=PAGE_SIZE)
    if sees["followups"]:
        ctx["followups"] = supervision.followup_tasks(service, user, limit=PAGE_SIZE)
    ctx["department_names"] = supervision.department_names(service)
    return render(request, "supervision.html", ctx)
