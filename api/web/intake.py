"""受理 (intake): the message form, the live suggestion while typing, submit and submit-as-duplicate.

The live suggestion runs through the same micro-batcher as ``POST /api/v1/triage``; submit
goes through the API's ``submit_case`` and the store's ``merge``, so the page and the API
share one code path.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError as PydanticValidationError
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from api import access
from api.routers.cases import submit_case
from api.schemas import CaseCreate
from api.security import Principal
from api.web import labels
from api.web.auth import SUBMIT, CsrfForm, PageUser, check_csrf, flash, form_str, require_role
from api.web.render import PageRoute, redirect, render, render_fragment
from triage.errors import InputError, TriageError
from triage.store.errors import CaseNotFoundError
from triage.store.lifecycle import OPEN_STATUSES
from triage.store.models import Role, Source
from triage.store.service import CaseService, triage_text
from triage.store.sessions import grid_names

router = APIRouter(route_class=PageRoute, include_in_schema=False)

FIELDS = ("text", "title", "reporter_name", "reporter_phone", "address", "grid", "source")
GRID_BOUND = {Role.GRID_WORKER.value, Role.DEPUTY.value}
CHOOSE_SOURCE = {Role.ADMIN.value, Role.REVIEWER.value}


def _service(request: Request) -> CaseService:
    return request.app.state.service


def _form_context(request: Request, user: Principal, values: dict[str, str], errors: dict[str, str]) -> dict:
    grids = grid_names(request.app.state.db, user.grids) if user.grids else {}
    for code in user.grids:
        grids.setdefault(code, code)
    return {
        "values": values,
        "errors": errors,
        "grids": grids,
        "grid_bound": user.role in GRID_BOUND,
        "sources": labels.SOURCE if user.role in CHOOSE_SOURCE else {},
        "default_source": access.DEFAULT_SOURCE.get(Role(user.role), "web"),
        "form_id": secrets.token_urlsafe(12),
    }


@router.get("/intake")
def intake_page(request: Request, user: PageUser) -> Response:
    require_role(user, SUBMIT)
    values = {"grid": user.grids[0] if user.grids else ""}
    return render(request, "intake.html", _form_context(request, user, values, {}))


def _duplicate_rows(
    service: CaseService, user: Principal, found: list[tuple[str, float]]
) -> list[dict[str, Any]]:
    """Duplicate candidates with what this user may see of them (status always, text if in scope)."""
    rows = []
    for case_no, score in found:
        try:
            case = service.get(case_no)
        except CaseNotFoundError:  # merged away or deleted since the index saw it
            continue
        owner = case.submitted_by if user.role == Role.GRID_WORKER else None
        visible = user.role in access.READ_ALL or access.can_see(user, case, owner)
        rows.append(
            {
                "case_no": case.case_no,
                "score": score,
                "status": case.status,
                "citizens": case.citizens,
                "text": case.text_masked if visible else None,
                "mergeable": case.status in OPEN_STATUSES,
            }
        )
    return rows


@router.post("/intake/suggest")
async def suggest(request: Request, user: PageUser) -> Response:
    """The live suggestion as an HTML fragment (JSON body {text, title}; header X-CSRF-Token)."""
    check_csrf(request, request.headers.get("x-csrf-token"))
    require_role(user, SUBMIT)
    try:
        body = await request.json()
    except ValueError:
        body = {}
    text = str(body.get("text") or "") if isinstance(body, dict) else ""
    title = str(body.get("title") or "").strip()[:200] if isinstance(body, dict) else ""
    if not text.strip():
        return render_fragment(request, "_suggestion.html", {"empty": True})
    try:
        result = await request.app.state.batcher.triage(triage_text(title or None, text[:20_000]))
    except InputError as exc:
        return render_fragment(request, "_suggestion.html", {"error": labels.error_message(exc.code)})
    service = _service(request)
    found = [(d.case_id, float(d.score)) for d in result.duplicates]
    duplicates = await run_in_threadpool(_duplicate_rows, service, user, found)
    terms = list(result.explanation) + list((result.route_reason or {}).get("matched_terms") or [])
    due = service.clock() + timedelta(hours=result.deadline_hours) if result.deadline_hours else None
    ctx = {"r": result, "terms": terms, "duplicates": duplicates, "due": due, "now": service.clock()}
    return render_fragment(request, "_suggestion.html", ctx)


def _check_fields(user: Principal, values: dict[str, str]) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not values["text"]:
        errors["text"] = "请输入诉求内容。"
    if user.role in GRID_BOUND and values["grid"] and values["grid"] not in user.grids:
        errors["grid"] = "只能选择您负责的网格。"
    if values["source"] and values["source"] not in {s.value for s in Source}:
        errors["source"] = "来源无效。"
    phone = values["reporter_phone"]
    if phone and not all(c.isdigit() or c in "-+ ()" for c in phone):
        errors["reporter_phone"] = "联系电话只能包含数字和 - + ( )。"
    limits = {"title": 200, "reporter_name": 64, "reporter_phone": 64, "address": 256, "text": 20_000}
    for name, limit in limits.items():
        if len(values[name]) > limit and name not in errors:
            errors[name] = f"不能超过 {limit} 个字符。"
    return errors


@router.post("/intake")
def submit(request: Request, user: PageUser, form: CsrfForm) -> Response:
    require_role(user, SUBMIT)
    values = {name: form_str(form, name, 30_000) for name in FIELDS}
    if user.role not in CHOOSE_SOURCE:
        values["source"] = ""
    duplicate_of = form_str(form, "duplicate_of", 20)
    form_id = form_str(form, "form_id", 40)
    done: dict[str, str] = dict(request.session.get("submitted") or {})
    if form_id and form_id in done:  # the same form sent twice (double click, reload)
        return redirect(f"/cases/{done[form_id]}")
    errors = _check_fields(user, values)
    service = _service(request)
    case = None
    if not errors:
        try:
            body = CaseCreate(
                text=values["text"],
                title=values["title"] or None,
                source=values["source"] or None,
                grid=values["grid"] or None,
                address=values["address"] or None,
                reporter_name=values["reporter_name"] or None,
                reporter_phone=values["reporter_phone"] or None,
            )
            case = submit_case(service, user, body)
        except PydanticValidationError as exc:
            first = exc.errors()[0]
            errors[str(first["loc"][0]) if first.get("loc") else "text"] = "内容不符合要求，请检查。"
        except InputError as exc:
            errors["text" if exc.field in (None, "text", "title") else exc.field] = labels.error_message(
                exc.code
            )
    if case is None:
        ctx = _form_context(request, user, values, errors or {"text": "提交失败，请重试。"})
        return render(request, "intake.html", ctx, status=422)
    if form_id:
        done[form_id] = case.case_no
        request.session["submitted"] = dict(list(done.items())[-5:])
    flash(request, f"已受理，案件编号 {case.case_no}。")
    if duplicate_of:
        try:
            service.merge(case.case_no, duplicate_of, user.username, note="受理时确认为重复诉求")
            flash(request, f"已作为重复诉求合并到案件 {duplicate_of}。")
        except TriageError as exc:
            flash(
                request,
                f"未能合并到 {duplicate_of}：{labels.error_message(exc.code)}案件已进入审核队列。",
                "warn",
            )
    return redirect(f"/cases/{case.case_no}")
