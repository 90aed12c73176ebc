"""代表建议 pages: the list (filters, XLSX export), a new proposal from picked cases or a hot issue,
one proposal with the department's answer form and the deputy's rating form. Same actions as the
JSON API (:mod:`api.actions.proposals`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import ValidationError as PydanticValidationError
from starlette.datastructures import FormData
from starlette.responses import Response

from api import access
from api.actions import proposals
from api.actions.supervision import department_names
from api.errors import ApiError
from api.limits import PAGE_SIZE
from api.schemas_deputies import ProposalCreate
from api.security import Principal
from api.web.forms import form_str
from api.web.render import PageRoute, describe, redirect, render, xlsx_download
from api.web.session import CsrfForm, PageError, PageUser, flash
from triage.config import LOCAL_TZ, PROPOSAL_TEXT_MAX_CHARS
from triage.errors import TriageError
from triage.store.models import Role
from triage.store.proposals import MAX_PROPOSAL_CASES
from triage.store.service import CaseService
from triage.tabular.writer import xlsx_bytes

router = APIRouter(route_class=PageRoute, include_in_schema=False)
STATUS_LABELS = {"assigned": "待答复", "answered": "已答复待评价", "closed": "已办结"}
RATING_LABELS = {
    "satisfied": "满意",
    "basically_satisfied": "基本满意",
    "unsatisfied": "不满意（退回重新办理）",
}
EXPORT_MAX = 10_000
COLUMNS = [
    ("id", "编号"),
    ("title", "标题"),
    ("department", "承办部门"),
    ("created_by", "提出代表"),
    ("created_at", "提出时间"),
    ("status", "状态"),
    ("answer_due", "答复期限"),
    ("answered_at", "答复时间"),
    ("rating", "代表评价"),
    ("rehandle_count", "重新办理次数"),
    ("problem", "问题"),
    ("suggestion", "建议"),
    ("answer", "答复"),
]


def _service(request: Request) -> CaseService:
    return request.app.state.service


def _guard(user: Principal) -> None:
    if user.role not in access.PROPOSALS_READ:
        raise PageError(403, "您的账号无权查看代表建议。")


def _filters(request: Request) -> tuple[str | None, bool]:
    status = request.query_params.get("status") or None
    return (status if status in STATUS_LABELS else None), request.query_params.get("overdue") == "1"


@router.get("/proposals")
def proposals_page(request: Request, user: PageUser, page: int = 1) -> Response:
    _guard(user)
    status, overdue = _filters(request)
    page = max(1, min(page, 10_000))
    rows = proposals.listing(
        _service(request),
        user,
        status=status,
        overdue=overdue,
        limit=PAGE_SIZE + 1,
        offset=(page - 1) * PAGE_SIZE,
    )
    ctx = {
        "rows": rows[:PAGE_SIZE],
        "has_next": len(rows) > PAGE_SIZE,
        "page": page,
        "status": status or "",
        "overdue": overdue,
        "status_labels": STATUS_LABELS,
        "rating_labels": RATING_LABELS,
        "names": department_names(_service(request)),
        "may_propose": user.role in access.PROPOSE,
    }
    return render(request, "proposals.html", ctx)


@router.get("/proposals/export.xlsx")
def export(request: Request, user: PageUser) -> Response:
    _guard(user)
    status, overdue = _filters(request)
    service = _service(request)
    names = department_names(service)
    found = proposals.listing(service, user, status=status, overdue=overdue, limit=EXPORT_MAX)
    rows = [
        p.model_dump()
        | {
            "department": names.get(p.department_code, p.department_code),
            "status": STATUS_LABELS.get(p.status, p.status),
            "rating": RATING_LABELS.get(p.rating or "", p.rating or ""),
            "created_at": _local(p.created_at),
            "answer_due": _local(p.answer_due),
            "answered_at": _local(p.answered_at),
        }
        for p in found
    ]
    data = xlsx_bytes(
        "代表建议", COLUMNS, rows, widths={"title": 30, "problem": 50, "suggestion": 50, "answer": 50}
    )
    return xlsx_download(data, "proposals", "代表建议")


def _local(value: datetime | None) -> str:
    return value.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M") if value else ""


def _new_context(request: Request, values: dict[str, str], errors: dict[str, str]) -> dict[str, object]:
    service = _service(request)
    departments = service.catalog.departments() if service.has_catalog else []
    return {
        "values": values,
        "errors": errors,
        "departments": sorted(departments, key=lambda d: d.name),
        "max_cases": MAX_PROPOSAL_CASES,
        "text_limit": PROPOSAL_TEXT_MAX_CHARS,
    }


@router.get("/proposals/new")
def new_page(request: Request, user: PageUser) -> Response:
    if user.role not in access.PROPOSE:
        raise PageError(403, "只有人大代表可以提出代表建议。")
    q = request.query_params
    values = {k: (q.get(k) or "")[:PROPOSAL_TEXT_MAX_CHARS] for k in ("title", "problem")}
    numbers = [n.strip() for n in (q.get("case_nos") or "").split(",") if n.strip()]
    values["case_nos"] = ",".join(numbers)  # whole numbers only: over the limit, the form says so
    return render(request, "proposal_new.html", _new_context(request, values, {}))


@router.post("/proposals")
def create(request: Request, user: PageUser, form: CsrfForm) -> Response:
    values = {
        k: form_str(form, k, PROPOSAL_TEXT_MAX_CHARS)
        for k in ("title", "problem", "suggestion", "department_code", "case_nos")
    }
    numbers = [n for n in values["case_nos"].replace("，", ",").replace("\n", ",").split(",") if n.strip()]
    errors: dict[str, str] = {}
    try:
        body = ProposalCreate(**(values | {"case_nos": [n.strip() for n in numbers]}))
        made = proposals.create(_service(request), user, body)
    except PydanticValidationError as exc:
        field = str((exc.errors()[0].get("loc") or ("_",))[0])
        errors[field] = (
            "请填写此项。" if exc.errors()[0]["type"] == "string_too_short" else "内容过长或格式不正确。"
        )
    except (ApiError, TriageError) as exc:
        status, message = describe(exc)
        if status == 403 and isinstance(exc, ApiError) and "scope" in exc.message:
            errors["case_nos"] = "所列案件中有不属于您网格的案件或案件编号有误。"
        elif status in (403, 404):
            raise
        else:
            errors[getattr(exc, "field", None) or "_"] = message
    else:
        to = department_names(_service(request)).get(made.department_code, made.department_code)
        flash(request, f"代表建议 {made.id} 已提交，已交{to}办理。")
        return redirect(f"/proposals/{made.id}")
    return render(request, "proposal_new.html", _new_context(request, values, errors), status=422)


@router.get("/proposals/{proposal_id}")
def proposal_page(request: Request, proposal_id: int, user: PageUser) -> Response:
    _guard(user)
    return render(request, "proposal.html", _detail_context(request, user, proposal_id))


def _detail_context(
    request: Request, user: Principal, proposal_id: int, **extra: object
) -> dict[str, object]:
    if not 1 <= proposal_id < 2**31:
        raise PageError(404, "代表建议不存在。")
    service = _service(request)
    try:
        p = proposals.detail(service, user, proposal_id)
    except ApiError as exc:
        if exc.status == 403:
            raise PageError(403, "该代表建议不属于您，您无权查看。") from None
        raise
    ctx: dict[str, object] = {
        "p": p,
        "status_labels": STATUS_LABELS,
        "rating_labels": RATING_LABELS,
        "names": department_names(service),
        "may_answer": p.status == "assigned" and user.role in access.ANSWER_PROPOSAL,
        "may_rate": p.status == "answered" and (user.role == Role.ADMIN or p.created_by == user.username),
        "errors": {},
        "values": {},
    }
    return ctx | extra


def _step(
    request: Request, user: Principal, proposal_id: int, form: FormData, step: Callable[[CaseService], str]
) -> Response:
    try:
        done = step(_service(request))
    except (ApiError, TriageError) as exc:
        status, message = describe(exc)
        if status in (403, 404):
            raise
        field = getattr(exc, "field", None) or "_"
        values = {n: form_str(form, n, PROPOSAL_TEXT_MAX_CHARS) for n in ("answer", "rating", "comment")}
        ctx = _detail_context(request, user, proposal_id, errors={field: message}, values=values)
        return render(request, "proposal.html", ctx, status=status)
    flash(request, f"代表建议 {proposal_id} {done}。")
    return redirect(f"/proposals/{proposal_id}")


@router.post("/proposals/{proposal_id}/answer")
def answer(request: Request, proposal_id: int, user: PageUser, form: CsrfForm) -> Response:
    text = form_str(form, "answer", PROPOSAL_TEXT_MAX_CHARS)

    def step(service: CaseService) -> str:
        proposals.answer(service, user, proposal_id, text)
        return "已答复"

    return _step(request, user, proposal_id, form, step)


@router.post("/proposals/{proposal_id}/rating")
def rate(request: Request, proposal_id: int, user: PageUser, form: CsrfForm) -> Response:
    rating, comment = form_str(form, "rating", 40), form_str(form, "comment", PROPOSAL_TEXT_MAX_CHARS)

    def step(service: CaseService) -> str:
        out = proposals.rate(service, user, proposal_id, rating, comment or None)
        return "已评价，退回重新办理" if out.status == "assigned" else "已评价并办结"

    return _step(request, user, proposal_id, form, step)
