"""审核队列 (review queue) and the review workbench: claim, accept / correct / merge / reject.

Claims and decisions go through the same actions as the API (:mod:`api.actions.review`:
same role check, same validation, same store calls).
A case whose submitter may not merge but marked it as a duplicate at intake carries a
possible-duplicate link: queue and workbench show it, and the reviewer merges or keeps it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError as PydanticValidationError
from starlette.responses import Response

from api.access import REVIEW
from api.actions import review as actions
from api.errors import ApiError
from api.limits import BULK_REVIEW_MAX, PAGE_SIZE
from api.schemas import ReviewRequest
from api.schemas_review import BulkAction, BulkReviewRequest
from api.security import Principal
from api.views import display_names
from api.web import labels
from api.web.filters import queue_filters, read_filters
from api.web.forms import form_str, safe_next
from api.web.render import PageRoute, describe, redirect, render
from api.web.session import CsrfForm, PageUser, flash, require_role
from triage.errors import TriageError
from triage.route.config import LEVELS
from triage.store.errors import CaseNotFoundError
from triage.store.models import PRIORITY_RANK, Case, CaseStatus
from triage.store.queue import QueueCursor
from triage.store.service import CaseService

# What the review queue page can be narrowed by (api/web/filters.py names).
QUEUE_FILTER_NAMES = ("category", "department", "grid", "priority", "source", "overdue")

router = APIRouter(route_class=PageRoute, include_in_schema=False)

ACTIONS = {"accept": "已审核通过并交办", "correct": "已修正并交办", "merge": "已合并", "reject": "已不予受理"}
GENERAL = {None, "", "case_no", "version", "status", "action"}


def _service(request: Request) -> CaseService:
    return request.app.state.service


@router.get("/review")
def queue_page(request: Request, user: PageUser, after: str | None = None) -> Response:
    require_role(user, REVIEW)
    service = _service(request)
    chosen = read_filters(request, service, QUEUE_FILTER_NAMES)
    only = queue_filters(chosen)
    try:
        rows = actions.queue(service, user, limit=PAGE_SIZE, after=after, include_claimed=True, filters=only)
    except (ValueError, TypeError):  # a hand-edited cursor: start from the top
        after = None
        rows = actions.queue(service, user, limit=PAGE_SIZE, include_claimed=True, filters=only)
    now = service.clock()
    ctx = {
        "filters": chosen,
        "filter_action": "/review",
        "rows": rows,
        "now": now,
        "waiting": actions.waiting(service, user),
        "next_cursor": QueueCursor.after(rows[-1]).encode() if len(rows) == PAGE_SIZE else None,
        "first_page": after is None,
        "holders": {c.case_no: _holder(c, now) for c in rows},
        "departments": service.catalog.departments(),
        "back": str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""),
    }
    return render(request, "queue.html", ctx)


def _holder(case: Case, now: Any) -> str | None:
    live = case.lease_owner and case.lease_expires_at and case.lease_expires_at > now
    return case.lease_owner if live else None


@router.post("/review/next")
def claim_next(request: Request, user: PageUser, form: CsrfForm) -> Response:
    require_role(user, REVIEW)
    case = actions.claim_next(_service(request), user)
    if case is None:
        flash(request, "审核队列中暂无可领取的案件。", "warn")
        return redirect("/review")
    return redirect(f"/review/{case.case_no}")


@router.post("/review/bulk")
def bulk(request: Request, user: PageUser, form: CsrfForm) -> Response:
    """批量采纳 / 批量派单 from the queue page (the same action as ``POST /api/v1/review-queue/bulk``)."""
    require_role(user, REVIEW)
    back = safe_next(form_str(form, "back", 2000)) or "/review"
    selected = [v.strip() for v in form.getlist("case_no") if isinstance(v, str) and v.strip()]
    if not selected:
        flash(request, "请先勾选要批量处理的案件。", "warn")
        return redirect(back)
    try:
        body = BulkReviewRequest(
            action=form_str(form, "action", 16),
            case_nos=selected,
            department_code=form_str(form, "department_code", 64) or None,
        )
        done, failed = actions.bulk(_service(request), user, body)
    except PydanticValidationError:
        message = f"批量处理未执行：每次最多 {BULK_REVIEW_MAX} 件，操作须为批量采纳或批量派单。"
        flash(request, message, "error")
        return redirect(back)
    except (ApiError, TriageError) as exc:
        flash(request, f"批量处理未执行：{describe(exc)[1]}", "error")
        return redirect(back)
    verb = "采纳" if body.action == BulkAction.ACCEPT else "派单"
    if done:
        flash(request, f"已批量{verb} {len(done)} 件。")
    for row in failed:
        flash(request, f"案件 {row.case_no} 未{verb}：{labels.error_message(row.code, row.message)}", "warn")
    return redirect(back)


@router.post("/review/{case_no}/claim")
def claim(request: Request, case_no: str, user: PageUser, form: CsrfForm) -> Response:
    require_role(user, REVIEW)
    try:
        actions.claim(_service(request), user, case_no[:20])
    except TriageError as exc:
        flash(request, labels.error_message(exc.code), "error")
        return redirect("/review")
    return redirect(f"/review/{case_no}")


@router.post("/review/{case_no}/release")
def release(request: Request, case_no: str, user: PageUser, form: CsrfForm) -> Response:
    require_role(user, REVIEW)
    actions.release(_service(request), user, case_no[:20])
    flash(request, f"已放弃领取案件 {case_no}。")
    return redirect("/review")


def _possible_duplicate(service: CaseService, case: Case) -> Case | None:
    """The case the submitter thinks this one duplicates, while that is still to decide."""
    if case.status != CaseStatus.PENDING_REVIEW or not case.possible_duplicate_of:
        return None
    try:
        return service.get(case.possible_duplicate_of)
    except CaseNotFoundError:
        return None


def workbench_context(service: CaseService, case: Case, user: Principal) -> dict[str, Any]:
    catalog = service.catalog
    categories = catalog.category_names()
    now = service.clock()
    return {
        "case": case,
        "now": now,
        "holder": _holder(case, now),
        "mine": _holder(case, now) == user.username,
        "categories": categories,
        "subcategories": {c: catalog.subcategory_names(c) or [] for c in categories},
        "departments": catalog.departments(),
        "levels": LEVELS,
        "priorities": list(PRIORITY_RANK),
        "terms": list(case.explanation or []) + list((case.route_reason or {}).get("matched_terms") or []),
        "candidates": [d for d in case.duplicate_candidates or [] if d.get("case_no") != case.case_no],
        "pending": case.status == CaseStatus.PENDING_REVIEW,
        "possible": _possible_duplicate(service, case),
        "dispatch": service.auto_dispatch.standing(case),
        "names": display_names(service, [case.grid_code]),
        "errors": {},
        "values": {},
        "open": "",
    }


@router.get("/review/{case_no}")
def workbench(request: Request, case_no: str, user: PageUser) -> Response:
    require_role(user, REVIEW)
    service = _service(request)
    case = actions.read(service, user, case_no[:20])
    return render(request, "review.html", workbench_context(service, case, user))


def _values(form: Any, action: str) -> dict[str, Any]:
    names = {
        "accept": ("requirement",),
        "correct": ("category", "subcategory", "department_code", "level", "priority", "requirement", "note"),
        "merge": ("into", "note"),
        "reject": ("reason",),
    }[action]
    return {n: form_str(form, n, 5000) for n in names}


@router.post("/review/{case_no}/{action}")
def decide(request: Request, case_no: str, action: str, user: PageUser, form: CsrfForm) -> Response:
    require_role(user, REVIEW)
    if action not in ACTIONS:
        return render(request, "error.html", {"status": 404, "message": "页面不存在。"}, status=404)
    service = _service(request)
    case_no = case_no[:20]
    values = _values(form, action)
    version = form_str(form, "version", 12)
    errors: dict[str, str] = {}
    status = 422
    try:
        body = ReviewRequest(
            action=action,
            version=int(version) if version.isdigit() else None,
            **{k: (v or None) for k, v in values.items()},
        )
        case = actions.decide(service, user, case_no, body)
    except PydanticValidationError as exc:
        loc = exc.errors()[0].get("loc") or ("",)
        errors[str(loc[0])] = "内容过长或格式不正确。"
    except (ApiError, TriageError) as exc:
        status, message = describe(exc)
        if status == 403:
            raise
        field = getattr(exc, "field", None)
        errors["_" if field in GENERAL else str(field)] = message
    else:
        flash(request, f"案件 {case.case_no} {ACTIONS[action]}。")
        return redirect("/review")
    ctx = workbench_context(service, actions.read(service, user, case_no), user)
    ctx.update(errors=errors, values=values, open=action)
    return render(request, "review.html", ctx, status=status)
