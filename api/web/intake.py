"""受理 (intake): the message form, the live suggestion while typing, submit and submit-as-duplicate.

The live suggestion and submit go through the same actions as ``POST /api/v1/triage`` and
``POST /api/v1/cases`` (:mod:`api.actions.cases`), a reviewer's merge at intake through
:func:`api.actions.review.merge_at_intake`, so the page and the API share one code path and one
rule set (:mod:`api.access`): only cases the user may open are
offered as duplicates or accepted as ``duplicate_of``; reviewers merge at once, everyone else's
submission keeps a possible-duplicate link for the reviewer to decide; a case number that does
not exist and one outside the user's scope get the same answer.
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
from api.actions import cases, review
from api.errors import ApiError
from api.limits import ADDRESS_CHARS, CASE_NO_CHARS, FORM_LIMITS
from api.schemas import CaseCreate
from api.security import Principal
from api.web import attachments, labels
from api.web.forms import form_str
from api.web.render import PageRoute, redirect, render, render_fragment
from api.web.session import CsrfForm, PageUser, check_csrf, flash, require_role
from triage.errors import InputError, TriageError
from triage.store.errors import CaseNotFoundError
from triage.store.lifecycle import OPEN_STATUSES
from triage.store.models import Case, Source
from triage.store.service import CaseService, triage_text
from triage.store.sessions import grid_names
from triage.text.intake import accept_text, clean_text

router = APIRouter(route_class=PageRoute, include_in_schema=False)

FIELDS = ("text", "title", "reporter_name", "reporter_phone", "address", "grid", "source")
# The short fields checked here (the text's limit is Settings.max_text_chars); the form shows them
# as data-maxlength through the page context (api.web.render), both from api.limits.
LIMITS = {name: FORM_LIMITS[name] for name in ("title", "reporter_name", "reporter_phone", "address")}
KEPT = "请删减后再提交（已保留您输入的全部内容）。"
SUBMIT = access.SUBMIT
NOT_VISIBLE = "未能关联到案件 {no}：案件不存在或不在您的权限范围内。本件已作为新案件进入审核队列。"


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
        "grid_bound": user.role in access.GRID_BOUND,
        "sources": {code: labels.SOURCE.get(code, code) for code in access.submit_sources(user)},
        "default_source": access.default_source(user),
        "form_id": secrets.token_urlsafe(12),
        **attachments.intake_context(request.app.state.settings),
    }


@router.get("/intake")
def intake_page(request: Request, user: PageUser) -> Response:
    require_role(user, SUBMIT)
    values = {"grid": user.grids[0] if user.grids else ""}
    return render(request, "intake.html", _form_context(request, user, values, {}))


def _duplicate_rows(
    service: CaseService, user: Principal, found: list[tuple[str, float]]
) -> list[dict[str, Any]]:
    """The duplicate candidates this user may open (others are not mentioned at all)."""
    visible = cases.visibility(service, user, [case_no for case_no, _ in found])
    rows = []
    for case_no, score in found:
        if not visible(case_no):
            continue
        try:
            case = service.get(case_no)
        except CaseNotFoundError:  # merged away since the index saw it
            continue
        rows.append(
            {
                "case_no": case.case_no,
                "score": score,
                "status": case.status,
                "citizens": case.citizens,
                "text": case.text_masked,
                "mergeable": case.status in OPEN_STATUSES,
            }
        )
    return rows


@router.post("/intake/suggest")
async def suggest(request: Request, user: PageUser) -> Response:
    """The live suggestion as an HTML fragment (JSON body {text, title, grid?, address?}; header
    X-CSRF-Token). Grid and address locate the case, as at submit."""
    check_csrf(request, request.headers.get("x-csrf-token"))
    require_role(user, SUBMIT)
    try:
        body = await request.json()
    except ValueError:
        body = {}
    text = str(body.get("text") or "") if isinstance(body, dict) else ""
    title = str(body.get("title") or "").strip() if isinstance(body, dict) else ""
    if not text.strip():
        return render_fragment(request, "_suggestion.html", {"empty": True})
    limit = request.app.state.settings.max_text_chars
    problem = _text_error(text, limit)
    if problem:  # an over-long text is refused here as at submit, never cut
        return render_fragment(request, "_suggestion.html", {"error": problem})
    service = _service(request)
    given = body if isinstance(body, dict) else {}
    located = {
        k: str(given.get(k) or "").strip()[:ADDRESS_CHARS] for k in ("address", "grid") if given.get(k)
    }  # a suggestion only: cut to the longest of the two, never stored
    if grid := located.pop("grid", None):
        located["grid_code"] = grid
    try:  # the model reads the start of title + text (the text alone is within the limit)
        model_text = triage_text(title or None, text.strip())[:limit]
        result = await cases.suggest(service, request.app.state.batcher, model_text, located)
    except InputError as exc:
        return render_fragment(request, "_suggestion.html", {"error": labels.error_message(exc.code)})
    found = [(d.case_id, float(d.score)) for d in result.duplicates]
    duplicates = await run_in_threadpool(_duplicate_rows, service, user, found)
    terms = list(result.explanation) + list((result.route_reason or {}).get("matched_terms") or [])
    due = service.clock() + timedelta(hours=result.deadline_hours) if result.deadline_hours else None
    ctx = {"r": result, "terms": terms, "duplicates": duplicates, "due": due, "now": service.clock()}
    ctx["may_merge"] = access.may_merge(user)
    return render_fragment(request, "_suggestion.html", ctx)


def _text_error(text: str, max_chars: int) -> str | None:
    """The text field's problem in words (counted as stored: a line break counts once), or None."""
    try:
        accept_text(text, max_chars=max_chars)
    except InputError as exc:
        if exc.code == "text_too_long":
            n = len(clean_text(text))
            return f"诉求内容过长：已输入 {n} 字，最多 {max_chars} 字。" + KEPT
        return labels.error_message(exc.code)
    return None


def _check_fields(user: Principal, values: dict[str, str], max_text_chars: int) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not values["text"]:
        errors["text"] = "请输入诉求内容。"
    elif problem := _text_error(values["text"], max_text_chars):
        errors["text"] = problem
    try:
        access.submit_grid(user, values["grid"] or None)
    except ApiError:
        errors["grid"] = "只能选择您负责的网格。"
    if values["source"] and values["source"] not in {s.value for s in Source}:
        errors["source"] = "来源无效。"
    elif values["source"] and values["source"] not in access.submit_sources(user):
        allowed = "、".join(labels.SOURCE.get(s, s) for s in access.submit_sources(user))
        errors["source"] = f"您的账号只能以“{allowed}”来源受理。"
    phone = values["reporter_phone"]
    if phone and not all(c.isdigit() or c in "-+ ()" for c in phone):
        errors["reporter_phone"] = "联系电话只能包含数字和 - + ( )。"
    for name, limit in LIMITS.items():
        if len(values[name]) > limit and name not in errors:
            errors[name] = f"不能超过 {limit} 个字符（已输入 {len(values[name])} 个）。" + KEPT
    return errors


@router.post("/intake")
def submit(request: Request, user: PageUser, form: CsrfForm) -> Response:
    require_role(user, SUBMIT)
    if (too_large := attachments.oversized_text(request, form)) is not None:
        return too_large
    values = {name: form_str(form, name) for name in FIELDS}  # kept whole: refused, never cut
    duplicate_of = form_str(form, "duplicate_of", CASE_NO_CHARS)
    form_id = form_str(form, "form_id", 40)
    done: dict[str, str] = dict(request.session.get("submitted") or {})
    if form_id and form_id in done:  # the same form sent twice (double click, reload)
        return redirect(f"/cases/{done[form_id]}")
    errors = _check_fields(user, values, request.app.state.settings.max_text_chars)
    service = _service(request)
    photos = attachments.prepare_photos(service, form, errors)  # checked before the case is stored
    case = None
    target = cases.duplicate_target(service, user, duplicate_of) if duplicate_of and not errors else None
    link = _link_target(user, target)
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
            case = cases.submit(service, user, body, possible_duplicate_of=link)
        except ApiError as exc:  # the access rules, should the checks above have missed one
            errors[exc.field if exc.field in FIELDS else "text"] = "您的账号不能这样受理，请检查网格和来源。"
        except PydanticValidationError as exc:
            first = exc.errors()[0]
            errors[str(first["loc"][0]) if first.get("loc") else "text"] = "内容不符合要求，请检查。"
        except InputError as exc:
            errors[exc.field if exc.field in FIELDS else "text"] = labels.error_message(exc.code)
    if case is None:
        ctx = _form_context(request, user, values, errors or {"text": "提交失败，请重试。"})
        return render(request, "intake.html", ctx, status=422)
    if form_id:
        done[form_id] = case.case_no
        request.session["submitted"] = dict(list(done.items())[-5:])
    flash(request, f"已受理，案件编号 {case.case_no}。")
    attachments.store_files(request, user, case.case_no, photos, attachments.AttachmentStage.INTAKE)
    if duplicate_of:
        _settle_duplicate(request, service, user, case, duplicate_of, target, link)
    return redirect(f"/cases/{case.case_no}")


def _link_target(user: Principal, target: Case | None) -> str | None:
    """The possible-duplicate link for a user who may not merge: an open case they may open."""
    if target is None or access.may_merge(user) or target.status not in OPEN_STATUSES:
        return None
    return target.case_no


def _settle_duplicate(
    request: Request,
    service: CaseService,
    user: Principal,
    case: Case,
    duplicate_of: str,
    target: Case | None,
    link: str | None,
) -> None:
    """Merge (reviewers) or leave the link for the reviewer (everyone else), and say which."""
    if target is None:  # no such case, or not the user's: the same answer either way
        flash(request, NOT_VISIBLE.format(no=duplicate_of), "warn")
    elif link is not None:
        flash(request, f"已标记为案件 {link} 的疑似重复件，由审核员确认是否合并。")
    elif not access.may_merge(user):
        status = labels.STATUS.get(target.status, target.status)
        message = f"未能关联到案件 {target.case_no}：该案件状态为“{status}”。本件已作为新案件进入审核队列。"
        flash(request, message, "warn")
    else:
        try:
            review.merge_at_intake(service, user, case.case_no, target.case_no)
            flash(request, f"已作为重复诉求合并到案件 {target.case_no}。")
        except TriageError as exc:
            message = labels.error_message(exc.code)
            flash(request, f"未能合并到 {target.case_no}：{message}案件已进入审核队列。", "warn")
