"""网格管理 (admins only): the grid registry with names, one grid at a time or the city's file.

Names typed here are what every list, desk and XLSX shows instead of codes (issue #13 item 8).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.datastructures import UploadFile
from starlette.responses import Response

from api.access import ADMIN
from api.actions import grids as actions
from api.limits import GRID_FILE_MAX_BYTES
from api.web.forms import form_str
from api.web.render import PageRoute, redirect, render
from api.web.session import CsrfForm, PageUser, flash, require_role
from triage.errors import TriageError
from triage.store.grid_registry import GRID_COLUMNS, GridImport

router = APIRouter(route_class=PageRoute, include_in_schema=False)

BASE = "/admin/grids"
FIELD_LABELS = {"code": "网格编号", "name": "网格名称", "community": "社区", "street": "街道", "row": "整行"}
ROW_MESSAGES = {
    "code_required": "网格编号为空",
    "too_long": "内容过长",
    "duplicate_code": "网格编号与前面的行重复",
    "bad_row": "该行无法读取（引号或列数不对）",
}
FILE_MESSAGES = {
    "bad_format": "请上传 CSV 或 XLSX 文件。",
    "empty_file": "文件是空的。",
    "missing_column": "文件缺少“网格编号”列（也可写作 网格编码、网格代码、code）。",
    "too_many_rows": "行数过多，请确认这是网格台账。",
    "bad_encoding": "无法识别文件编码，请另存为 UTF-8 或 GBK 编码的 CSV。",
}


def _page(
    request: Request,
    user: PageUser,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    report: GridImport | None = None,
    status: int = 200,
) -> Response:
    ctx: dict[str, Any] = {
        "grids": actions.grids(request.app.state.db, user),
        "errors": errors or {},
        "values": values or {},
        "report": report,
        "field_labels": FIELD_LABELS,
        "row_messages": ROW_MESSAGES,
        "columns": GRID_COLUMNS,
        "max_mb": GRID_FILE_MAX_BYTES // (1024 * 1024),
    }
    return render(request, "admin_grids.html", ctx, status=status)


@router.get(BASE)
def grids_page(request: Request, user: PageUser) -> Response:
    require_role(user, ADMIN)
    return _page(request, user)


@router.post(BASE)
def save_grid(request: Request, user: PageUser, form: CsrfForm) -> Response:
    require_role(user, ADMIN)
    values = {n: form_str(form, n, 200) for n in ("code", "name", "community", "street")}
    try:
        grid = actions.save(request.app.state.db, user, values["code"], name=values["name"],
                            community=values["community"], street=values["street"])  # fmt: skip
    except TriageError as exc:
        message = "请填写网格编号。" if exc.code == "code_required" else "内容过长。"
        return _page(request, user, errors={exc.field or "code": message}, values=values, status=422)
    flash(request, f"网格 {grid.code}（{grid.name}）已保存。")
    return redirect(BASE)


@router.post(BASE + "/import")
async def import_registry(request: Request, user: PageUser, form: CsrfForm) -> Response:
    """Upload the city's grid registry; the page lists what was created, updated and refused."""
    require_role(user, ADMIN)
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not (upload.filename or upload.size):
        return _page(request, user, errors={"file": "请选择要导入的文件。"}, status=422)
    data = await upload.read(GRID_FILE_MAX_BYTES + 1)
    if len(data) > GRID_FILE_MAX_BYTES:
        message = f"文件超过 {GRID_FILE_MAX_BYTES // (1024 * 1024)} MB。"
        return _page(request, user, errors={"file": message}, status=413)
    try:
        report = actions.import_file(request.app.state.db, user, data, upload.filename or "")
    except TriageError as exc:
        return _page(request, user, errors={"file": FILE_MESSAGES.get(exc.code, str(exc))}, status=422)
    return _page(request, user, report=report, status=422 if report.errors and not _loaded(report) else 200)


def _loaded(report: GridImport) -> int:
    return report.created + report.updated + report.unchanged
