"""网格与代表: cases of my grids and the three lists (问题清单、交办清单、办结清单), with XLSX export.

The lists come from the same action as the API (:func:`api.actions.lists.rows`: departments
see their own, grid workers and deputies their grids), so page, export and API always agree.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from starlette.responses import Response

from api import access
from api.actions import cases, lists
from api.errors import ApiError
from api.limits import PAGE_SIZE
from api.schemas import ListKind
from api.security import Principal
from api.views import display_names, is_overdue
from api.web import labels
from api.web.filters import read_period
from api.web.render import PageRoute, describe, render, xlsx_download
from api.web.session import PageUser
from triage.config import LOCAL_TZ
from triage.store.search import CaseFilter
from triage.store.service import CaseService
from triage.store.sessions import grid_names
from triage.tabular.cells import xlsx_value

router = APIRouter(route_class=PageRoute, include_in_schema=False)

EXPORT_PAGE = 1000
EXPORT_MAX = 100_000
VIEWS = {"cases": "我的网格案件", **labels.LIST_KINDS}

# Columns of each list: (row key, Chinese header); names (grid_name, department_name), never codes.
COLUMNS: dict[str, list[tuple[str, str]]] = {
    "problems": [
        ("case_no", "案件编号"), ("created_at", "受理时间"), ("source", "来源"), ("title", "标题"),
        ("text", "诉求内容"), ("grid_name", "网格"), ("community", "社区"), ("street", "街道"),
        ("address", "地址"), ("category", "分类"), ("department_name", "责任部门"),
        ("priority", "优先级"), ("citizens", "反映人数"), ("status", "状态"),
    ],
    "assignments": [
        ("case_no", "案件编号"), ("title", "标题"), ("text", "诉求内容"), ("grid_name", "网格"),
        ("community", "社区"), ("street", "街道"), ("category", "分类"), ("subcategory", "子类"),
        ("department_name", "承办部门"),
        ("level", "层级"), ("priority", "优先级"), ("dispatched_at", "交办时间"),
        ("dispatched_by", "交办人"), ("deadline", "办理时限"), ("requirement", "办理要求"),
        ("overdue", "是否超期"), ("status", "状态"),
    ],
    "completions": [
        ("case_no", "案件编号"), ("title", "标题"), ("text", "诉求内容"), ("grid_name", "网格"),
        ("community", "社区"), ("street", "街道"), ("category", "分类"), ("department_name", "承办部门"),
        ("dispatched_at", "交办时间"), ("deadline", "办理时限"), ("resolved_at", "办结时间"),
        ("resolved_by", "办结人"), ("result", "办理结果"), ("on_time", "按期办结"),
        ("satisfaction", "满意度"), ("feedback", "回访意见"), ("closed_at", "回访时间"), ("status", "状态"),
    ],
}  # fmt: skip


def _service(request: Request) -> CaseService:
    return request.app.state.service


def _parse_filters(params: dict[str, str], user: Principal) -> tuple[dict[str, Any], dict[str, str]]:
    """Filters from the query string, with a Chinese error per bad field."""
    errors: dict[str, str] = {}
    out: dict[str, Any] = {"grid": None, "department": None}
    out["date_from"], out["date_to"] = read_period(params, errors)
    grid = (params.get("grid") or "").strip()[:64] or None
    if grid and access.scope_of(user).grids is not None and grid not in user.grids:
        errors["grid"] = "只能查看您负责的网格。"
        grid = None
    out["grid"] = grid
    out["department"] = (params.get("department") or "").strip()[:64] or None
    return out, errors


def _list_page(
    service: CaseService, user: Principal, kind: str, f: dict[str, Any], limit: int, offset: int
) -> list[dict[str, Any]]:
    return lists.rows(
        service, user, ListKind(kind), grid=f["grid"], department=f["department"],
        date_from=f["date_from"], date_to=f["date_to"], limit=limit, offset=offset,
    )  # fmt: skip


@router.get("/grids")
def grids_page(request: Request, user: PageUser, view: str = "cases", page: int = 1) -> Response:
    service = _service(request)
    view = view if view in VIEWS else "cases"
    page = max(1, min(page, 10_000))
    filters, errors = _parse_filters(dict(request.query_params), user)
    now = service.clock()
    rows: list[Any] = []
    if not errors:
        offset = (page - 1) * PAGE_SIZE
        try:
            if view == "cases":
                f = CaseFilter(
                    grid_code=filters["grid"], department_code=filters["department"],
                    date_from=filters["date_from"], date_to=filters["date_to"],
                    limit=PAGE_SIZE + 1, offset=offset,
                )  # fmt: skip
                rows = cases.search(service, user, f, now)
            else:
                rows = _list_page(service, user, view, filters, PAGE_SIZE + 1, offset)
        except (ApiError, ValueError) as exc:
            field = getattr(exc, "field", None) or "grid"
            errors[field if field in ("grid", "department", "date_from", "date_to") else "grid"] = (
                describe(exc)[1] if isinstance(exc, ApiError) else "筛选条件不正确。"
            )
            rows = []
    query = {k: v for k, v in request.query_params.items() if k not in ("page",) and v}
    ctx = {
        "view": view,
        "views": VIEWS,
        "rows": rows[:PAGE_SIZE],
        "has_next": len(rows) > PAGE_SIZE,
        "page": page,
        "filters": filters,
        "raw": {k: request.query_params.get(k, "") for k in ("grid", "department", "date_from", "date_to")},
        "errors": errors,
        "now": now,
        "my_grids": grid_names(service.db, user.grids) if user.grids else {},
        "scoped_to_grids": access.scope_of(user).grids is not None,
        "departments": service.catalog.departments() if user.role != "department" else [],
        "overdue": {c.case_no: is_overdue(c, now) for c in rows} if view == "cases" else {},
        "names": display_names(service, [c.grid_code for c in rows]) if view == "cases" else None,
        "query": query,
        "export_query": "&".join(f"{k}={quote(v)}" for k, v in query.items() if k != "view"),
    }
    return render(request, "grids.html", ctx, status=422 if errors else 200)


def _cell_value(key: str, value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(LOCAL_TZ).replace(tzinfo=None)
    if key in ("overdue", "on_time") and value is not None:
        return "是" if value else "否"
    if key == "status":
        return labels.STATUS.get(value, value)
    if key == "priority":
        return labels.PRIORITY.get(value, value)
    if key == "source":
        return labels.SOURCE.get(value, value)
    return value


def build_xlsx(kind: str, rows: Any) -> bytes:
    """A one-sheet workbook (write-only, so memory stays flat) with Chinese headers.

    ``rows`` come from :func:`api.actions.lists.rows`, so personal data is already masked; every value goes
    through :func:`triage.tabular.cells.xlsx_value`, so a citizen's ``=…`` is shown as typed, never run.
    """
    from openpyxl import Workbook  # imported here: openpyxl costs start-up time and memory
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(labels.LIST_KINDS[kind])
    columns = COLUMNS[kind]
    widths = {"text": 60, "title": 30, "requirement": 40, "result": 40, "feedback": 30}
    for i, (key, _) in enumerate(columns):
        letter = chr(ord("A") + i) if i < 26 else "A" + chr(ord("A") + i - 26)
        ws.column_dimensions[letter].width = widths.get(key, 18)
    ws.freeze_panes = "A2"
    header = []
    for _, title in columns:
        cell = WriteOnlyCell(ws, value=title)
        cell.font = Font(bold=True)
        header.append(cell)
    ws.append(header)
    for row in rows:
        ws.append([xlsx_value(ws, _cell_value(key, row.get(key))) for key, _ in columns])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def export_rows(service: CaseService, user: Principal, kind: str, f: dict[str, Any]):
    """All rows of a list in the user's scope (grid by grid for grid users), up to EXPORT_MAX."""
    scoped = access.scope_of(user).grids
    grids = [f["grid"]] if f["grid"] or scoped is None else list(scoped)
    sent = 0
    for grid in grids:
        offset = 0
        while sent < EXPORT_MAX:
            items = _list_page(service, user, kind, f | {"grid": grid}, EXPORT_PAGE, offset)
            yield from items[: EXPORT_MAX - sent]
            sent += len(items)
            offset += EXPORT_PAGE
            if len(items) < EXPORT_PAGE:
                break


@router.get("/grids/export/{kind}.xlsx")
def export(request: Request, kind: str, user: PageUser) -> Response:
    if kind not in COLUMNS:
        return render(request, "error.html", {"status": 404, "message": "没有这种清单。"}, status=404)
    filters, errors = _parse_filters(dict(request.query_params), user)
    if errors:
        return render(request, "error.html", {"status": 422, "message": next(iter(errors.values()))}, 422)
    data = build_xlsx(kind, export_rows(_service(request), user, kind, filters))
    return xlsx_download(data, kind, labels.LIST_KINDS[kind])
