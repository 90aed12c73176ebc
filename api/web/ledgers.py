"""台账 pages: 民意诉求台账, 矛盾纠纷台账 (with recording disputes and mediation sessions), 履职台账
and the departments' figures, each with filters by grid / community / street / period and an XLSX
export of exactly what the page counts (the same actions as ``/api/v1/ledgers``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError as PydanticValidationError
from starlette.responses import Response

from api import access
from api.actions import ledgers
from api.errors import ApiError
from api.schemas_deputies import DisputeCreate, MediationRequest
from api.security import Principal
from api.views import display_names
from api.web.filters import read_period
from api.web.forms import form_str
from api.web.render import PageRoute, describe, localtime, redirect, render, xlsx_download
from api.web.session import CsrfForm, PageError, PageUser, flash
from triage.errors import TriageError
from triage.store.ledgers import LEDGERS, LedgerFilter
from triage.store.service import CaseService
from triage.tabular.writer import xlsx_bytes

router = APIRouter(route_class=PageRoute, include_in_schema=False)

TITLES = {
    "requests": "民意诉求台账",
    "disputes": "矛盾纠纷台账",
    "deputies": "代表履职台账",
    "departments": "部门办理台账",
}
FIELD_NAMES = {"title": "纠纷名称", "parties": "当事人", "summary": "概要"}
OUTCOMES = {"resolved": "调解成功", "failed": "调解未成功", "litigation": "转诉讼"}
PLACE_FIELDS = ("grid", "community", "street", "date_from", "date_to")
EXPORT_ROWS = 10_000  # one XLSX; the page itself shows PAGE rows
PAGE = 50
# Columns per ledger: (row key, header); the XLSX and the page table show the same ones.
COLUMNS: dict[str, list[tuple[str, str]]] = {
    "requests": [
        ("case_no", "案件编号"), ("created_at", "受理时间"), ("title", "标题"), ("text", "诉求内容"),
        ("grid_name", "网格"), ("community", "社区"), ("street", "街道"), ("category", "分类"),
        ("department_name", "责任部门"), ("citizens", "反映人数"), ("status", "状态"),
    ],
    "disputes": [
        ("id", "编号"), ("created_at", "登记时间"), ("title", "纠纷"), ("parties", "当事人"),
        ("summary", "概要"), ("grid_name", "网格"), ("case_no", "关联案件"), ("outcome", "结果"),
        ("closed_at", "办结时间"),
    ],
    "deputies": [
        ("display_name", "代表"), ("residents_met", "接待群众"), ("collected", "收集诉求"),
        ("supervised", "督办"), ("whistles", "吹哨"), ("proposals", "提出建议"), ("resolved", "已办结"),
        ("rated", "已回访"), ("satisfaction_rate", "满意率"),
    ],
    "departments": [
        ("department_name", "部门"), ("received", "受理"), ("resolved", "办结"),
        ("on_time_rate", "限时办结率"), ("rehandled", "重办"), ("rehandle_rate", "重办率"),
        ("satisfaction_rate", "满意率"),
        ("supervision_missed", "督办超期"), ("whistles_late", "报到超时"),
    ],
}  # fmt: skip
RATES = {"satisfaction_rate", "on_time_rate", "rehandle_rate"}


def _service(request: Request) -> CaseService:
    return request.app.state.service


def kinds_for(user: Principal) -> list[str]:
    allowed = access.LEDGER_KINDS_BY_ROLE.get(user.role)
    return [k for k in LEDGERS if allowed is None or k in allowed]


def _read_filters(request: Request) -> tuple[dict[str, Any], dict[str, str]]:
    """The place and period from the URL, with a Chinese error per bad field."""
    params = request.query_params
    values: dict[str, Any] = {n: (params.get(n) or "").strip()[:128] or None for n in PLACE_FIELDS}
    errors: dict[str, str] = {}
    values["date_from"], values["date_to"] = read_period(params, errors)
    return values, errors


def _filter(user: Principal, kind: str, values: dict[str, Any], limit: int, offset: int) -> LedgerFilter:
    try:
        return ledgers.ledger_filter(user, kind, limit=limit, offset=offset, **values)
    except ApiError as exc:
        raise PageError(
            exc.status, "只能查看您负责的网格。" if exc.status == 403 else "没有这种台账。"
        ) from None


def _rows(service: CaseService, user: Principal, kind: str, data: Any) -> tuple[list[dict[str, Any]], dict]:
    """Table rows (names, not codes; Chinese labels; rates as percentages) and the ledger's totals."""
    rows = data["rows"] if isinstance(data, dict) else data
    totals = {k: v for k, v in data.items() if k != "rows"} if isinstance(data, dict) else {}
    names = display_names(service, [r.get("grid_code") for r in rows if r.get("grid_code")])
    out = []
    for r in rows:
        row = dict(r)
        row["grid_name"] = names.grid(r["grid_code"]) if r.get("grid_code") else ""
        if "department_code" in r:
            row["department_name"] = names.department(r.get("department_code"))
        if kind == "disputes":
            row["outcome"] = OUTCOMES.get(r.get("outcome") or "", "调解中")
        for rate in RATES & row.keys():
            row[rate] = f"{row[rate] * 100:.0f}%" if row[rate] is not None else "—"
        out.append(row)
    return out, totals


@router.get("/ledgers")
def ledgers_page(request: Request, user: PageUser, kind: str = "requests", page: int = 1) -> Response:
    kinds = kinds_for(user)
    kind = kind if kind in kinds else kinds[0]
    page = max(1, min(page, 10_000))
    values, errors = _read_filters(request)
    service = _service(request)
    rows: list[dict[str, Any]] = []
    totals: dict[str, Any] = {}
    headline: dict[str, Any] | None = None
    if not errors:
        f = _filter(user, kind, values, PAGE + 1, (page - 1) * PAGE)
        rows, totals = _rows(service, user, kind, ledgers.read(service, user, kind, f))
        headline = ledgers.headline(
            service, _filter(user, "requests" if "requests" in kinds else kind, values, 1, 0)
        )
    query = {k: v.isoformat() if isinstance(v, date) else v for k, v in values.items() if v}
    ctx = {
        "kind": kind, "kinds": {k: TITLES[k] for k in kinds}, "columns": COLUMNS[kind],
        "rows": rows[:PAGE], "has_next": len(rows) > PAGE, "page": page, "totals": totals,
        "headline": headline, "values": query, "errors": errors, "outcomes": OUTCOMES,
        "may_record": user.role in access.DISPUTES,
    }  # fmt: skip
    return render(request, "ledgers.html", ctx, status=422 if errors else 200)


@router.get("/ledgers/{kind}.xlsx")
def export(request: Request, kind: str, user: PageUser) -> Response:
    if kind not in kinds_for(user):
        raise PageError(404 if kind not in LEDGERS else 403, "没有这种台账或无权导出。")
    values, errors = _read_filters(request)
    if errors:
        raise PageError(422, next(iter(errors.values())))
    service = _service(request)
    f = _filter(user, kind, values, EXPORT_ROWS, 0)
    rows, _ = _rows(service, user, kind, ledgers.read(service, user, kind, f))
    # Excel has no time zones: times go out as people read them, local, to the minute
    rows = [{k: localtime(v) if isinstance(v, datetime) else v for k, v in r.items()} for r in rows]
    return xlsx_download(xlsx_bytes(TITLES[kind], COLUMNS[kind], rows), f"ledger-{kind}", TITLES[kind])


@router.post("/disputes")
def record_dispute(request: Request, user: PageUser, form: CsrfForm) -> Response:
    """登记矛盾纠纷 from the disputes ledger (grid workers, deputies, admins)."""
    fields = ("title", "parties", "summary", "case_no", "grid")
    values = {n: form_str(form, n, 5000) or None for n in fields}
    try:
        body = DisputeCreate(**values)
        made = ledgers.create_dispute(_service(request), user, **body.model_dump())
    except PydanticValidationError as exc:
        field = str((exc.errors()[0].get("loc") or ("title",))[0])
        flash(request, f"未登记：请填写{FIELD_NAMES.get(field, field)}。", "error")
        return redirect("/ledgers?kind=disputes")
    except (ApiError, TriageError) as exc:
        flash(request, f"未登记：{describe(exc)[1]}", "error")
        return redirect("/ledgers?kind=disputes")
    flash(request, f"矛盾纠纷已登记（编号 {made.id}）。")
    return redirect(f"/disputes/{made.id}")


@router.get("/disputes/{dispute_id}")
def dispute_page(request: Request, dispute_id: int, user: PageUser) -> Response:
    if not 0 < dispute_id < 2**31:
        raise PageError(404, "纠纷不存在。")
    found, sessions = ledgers.dispute(_service(request), user, dispute_id)
    ctx = {"d": found, "sessions": sessions, "outcomes": OUTCOMES, "may_record": user.role in access.DISPUTES}
    return render(request, "dispute.html", ctx)


@router.post("/disputes/{dispute_id}/sessions")
def add_session(request: Request, dispute_id: int, user: PageUser, form: CsrfForm) -> Response:
    values = {n: form_str(form, n, 5000) or None for n in ("mediator", "note", "outcome")}
    try:
        body = MediationRequest(**values)
        ledgers.add_session(_service(request), user, dispute_id, **body.model_dump())
    except PydanticValidationError:
        flash(request, "未记录：请填写调解人和调解情况，结果须为调解成功、未成功或转诉讼。", "error")
        return redirect(f"/disputes/{dispute_id}")
    except (ApiError, TriageError) as exc:
        flash(request, f"未记录：{describe(exc)[1]}", "error")
        return redirect(f"/disputes/{dispute_id}")
    flash(request, "调解记录已保存。" + (f"纠纷{OUTCOMES[body.outcome]}，已办结。" if body.outcome else ""))
    return redirect(f"/disputes/{dispute_id}")
