"""案件详情 (case page: text, suggestion vs decision, timeline, allowed transitions, feedback) and
部门工作台 (the department desk). Changes go through the same actions as the API
(:mod:`api.actions.handling`), so the pages apply exactly the API's role and scope rules."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError as PydanticValidationError
from starlette.responses import Response

from api import access
from api.actions import cases, handling, supervision
from api.errors import ApiError
from api.limits import PAGE_SIZE
from api.schemas import FeedbackRequest, TransitionRequest
from api.security import Principal
from api.views import display_names, is_overdue
from api.web import attachments
from api.web.filters import queue_filters, read_filters
from api.web.forms import form_str, safe_next
from api.web.render import PageRoute, describe, redirect, render
from api.web.session import CsrfForm, PageError, PageUser, flash, require_role
from triage.errors import TriageError
from triage.store.display import mask_contact, mask_name
from triage.store.lifecycle import allowed_targets
from triage.store.models import AuditEvent, Case, CaseStatus, Feedback, Role
from triage.store.service import CaseService

router = APIRouter(route_class=PageRoute, include_in_schema=False)

S = CaseStatus
DONE_MESSAGES = {
    "start": "已签收，开始办理",
    "resolve": "已办结",
    "return": "已退回审核",
    "reopen": "已重新办理",
    "feedback": "已记录回访并结案",
}
DEPARTMENT_STEPS = frozenset({"start", "resolve", "return", "reopen"})
DESK_FILTER_NAMES = ("category", "grid", "priority", "source")  # the 超期 tab is the overdue filter
DESK_TABS = {
    "todo": ("待办", [S.DISPATCHED.value, S.IN_PROGRESS.value]),
    "overdue": ("超期", None),
    "done": ("已办结", [S.RESOLVED.value, S.CLOSED.value]),
}


def _service(request: Request) -> CaseService:
    return request.app.state.service


def allowed_actions(user: Principal, case: Case) -> list[str]:
    """The forms to offer: what the lifecycle allows from this status *and* the user's role allows."""
    out: list[str] = []
    for to in sorted(allowed_targets(case.status)):
        try:
            access.check_transition(user, case, to)
        except ApiError:
            continue
        if to in (S.DISPATCHED, S.MERGED, S.REJECTED):
            action = "review" if user.role in access.REVIEW else None
        elif to == S.IN_PROGRESS:
            action = "reopen" if case.status == S.RESOLVED else "start"
        elif to == S.RESOLVED:
            action = "resolve"
        elif to == S.PENDING_REVIEW:
            action = "return"
        else:  # closed
            action = "feedback" if user.role in access.FEEDBACK else None
        if action in DEPARTMENT_STEPS and not access.offers_department_steps(user):
            continue
        if action and action not in out:
            out.append(action)
    return out


def case_context(service: CaseService, user: Principal, case_no: str) -> dict[str, Any]:
    case, events, feedback = _history(service, user, case_no)
    now = service.clock()
    decided = case.reviewed_at or case.dispatched_at  # a reviewer's decision or an automatic dispatch
    decision = [
        ("分类", case.suggested_category, case.category),
        ("子类", case.suggested_subcategory, case.subcategory),
        ("部门", case.suggested_department, case.department),
        ("层级", case.suggested_level, case.level),
        ("优先级", case.suggested_priority, case.priority if decided else None),
        ("时限（小时）", case.suggested_deadline_hours, case.deadline_hours if decided else None),
    ]
    # Only duplicates the user may open are named (api.access, as the API and the intake form).
    candidates = [d for d in case.duplicate_candidates or [] if d.get("case_no") != case.case_no]
    pending_link = case.possible_duplicate_of if case.status == S.PENDING_REVIEW else None
    visible = cases.visibility(service, user, [d["case_no"] for d in candidates] + [pending_link or ""])
    return {
        "case": case,
        "now": now,
        "overdue": is_overdue(case, now),
        "reporter_name": mask_name(case.reporter_name),
        "reporter_contact": mask_contact(case.reporter_contact),
        "decision": decision,
        "terms": list(case.explanation or []) + list((case.route_reason or {}).get("matched_terms") or []),
        "events": events,
        "feedback": feedback,
        "actions": allowed_actions(user, case),
        "candidates": [d for d in candidates if visible(d["case_no"])],
        "possible_duplicate": pending_link if visible(pending_link) else None,
        "dispatch": service.auto_dispatch.standing(case),
        **attachments.gallery(service, user, case),
        "may_reveal_contact": bool(case.reporter_contact) and access.may_reveal_contact(user, case),
        "supervision": supervision.panel(service, user, case),  # 督办与吹哨
        "names": display_names(service, [case.grid_code]),
        "errors": {},
        "values": {},
        "open": "",
    }


def _history(
    service: CaseService, user: Principal, case_no: str
) -> tuple[Case, list[AuditEvent], list[Feedback]]:
    """The case with its history, or a 403 page that says why (the API's scope rule)."""
    try:
        return cases.history(service, user, case_no[:20])
    except ApiError as exc:
        if exc.status == 403:
            raise PageError(403, "该案件不属于您负责的部门或网格，您无权查看。") from None
        raise


@router.get("/cases/{case_no}")
def case_page(request: Request, case_no: str, user: PageUser) -> Response:
    return render(request, "case.html", case_context(_service(request), user, case_no))


def _action_request(action: str, form: Any, version: int | None) -> tuple[str, Any]:
    """(kind, request model) for a posted action; kind is "transition" or "feedback"."""
    text = {n: form_str(form, n, 6000) or None for n in ("note", "result", "comment")}
    if action == "feedback":
        score = form_str(form, "satisfaction", 2)
        satisfaction = int(score) if score.isdigit() else 0
        return "feedback", FeedbackRequest(
            satisfaction=satisfaction, comment=text["comment"], version=version
        )
    to = {"start": S.IN_PROGRESS, "reopen": S.IN_PROGRESS, "resolve": S.RESOLVED, "return": S.PENDING_REVIEW}
    if action not in to:
        raise ApiError(404, "not_found", "unknown action")
    return "transition", TransitionRequest(
        to=to[action], note=text["note"], result=text["result"], version=version
    )


@router.post("/cases/{case_no}/{action}")
def act(request: Request, case_no: str, action: str, user: PageUser, form: CsrfForm) -> Response:
    """start / resolve / return / reopen / feedback, then back to where the form was."""
    service = _service(request)
    case_no = case_no[:20]
    version = form_str(form, "version", 12)
    back = safe_next(form_str(form, "back", 500))
    errors: dict[str, str] = {}
    status = 422
    proof: list[attachments.Prepared] = []
    try:
        kind, body = _action_request(action, form, int(version) if version.isdigit() else None)
        if action == "resolve":  # proof of 办结: checked before the case moves, stored after
            proof = attachments.prepare_proof(service, user, case_no, form)
        if kind == "feedback":
            handling.feedback(service, user, case_no, body)
        else:
            handling.transition(service, user, case_no, body)
    except PydanticValidationError as exc:
        loc = exc.errors()[0].get("loc") or ("",)
        field = str(loc[0])
        errors[field] = "请选择 1 到 5 分。" if field == "satisfaction" else "内容过长或格式不正确。"
    except (ApiError, TriageError) as exc:
        status, message = describe(exc)
        if status in (403, 404):
            raise
        field = getattr(exc, "field", None) or "_"
        errors[field if field in ("note", "result", "satisfaction", "comment", "proof") else "_"] = message
    else:
        flash(request, f"案件 {case_no} {DONE_MESSAGES.get(action, '已更新')}。")
        attachments.store_files(request, user, case_no, proof, attachments.AttachmentStage.RESOLUTION)
        return redirect(back or f"/cases/{case_no}")
    ctx = case_context(service, user, case_no)
    ctx.update(errors=errors, open=action, values={n: form_str(form, n, 6000) for n in form})
    return render(request, "case.html", ctx, status=status)


@router.get("/desk")
def desk(
    request: Request, user: PageUser, tab: str = "todo", page: int = 1, department: str | None = None
) -> Response:
    require_role(user, access.DESK)
    service = _service(request)
    departments = service.catalog.departments()
    dept = handling.desk_department(user, department, {d.code for d in departments})
    tab = tab if tab in DESK_TABS else "todo"
    page = max(1, min(page, 10_000))
    now = service.clock()
    chosen = read_filters(request, service, DESK_FILTER_NAMES)
    rows = handling.desk(
        service, user, DESK_TABS[tab][1], overdue=tab == "overdue", department=dept,
        limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE, filters=queue_filters(chosen),
    )  # fmt: skip
    keep = {"tab": tab, **({"department": dept} if dept and user.role == Role.ADMIN else {})}
    ctx = {
        "filters": chosen,
        "filter_action": "/desk",
        "keep": keep,
        "rows": rows[:PAGE_SIZE],
        "has_next": len(rows) > PAGE_SIZE,
        "page": page,
        "tab": tab,
        "tabs": {k: v[0] for k, v in DESK_TABS.items()},
        "now": now,
        "department": dept,
        "department_name": next((d.name for d in departments if d.code == dept), None),
        "departments": departments if user.role == Role.ADMIN else [],
        "overdue": {c.case_no: is_overdue(c, now) for c in rows},
        "row_actions": {c.case_no: allowed_actions(user, c) for c in rows},
        "names": display_names(service, [c.grid_code for c in rows]),
        "supervised": service.supervision.supervised_case_nos([c.case_no for c in rows]),
        "whistles": supervision.open_whistles(service, user, limit=20) if tab == "todo" else [],
        "back": str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""),
    }
    return render(request, "desk.html", ctx)
