"""搜索案件 (case search page): "where is my complaint?" by case number, phone, address or words.

The page calls the same action as ``GET /api/v1/cases?q=…&phone=…`` (:func:`api.actions.cases.search`),
so it shows exactly what the caller's scope admits, contacts masked as on every other page.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from api.actions import cases
from api.limits import PAGE_SIZE
from api.views import display_names
from api.web.render import PageRoute, render
from api.web.session import PageUser
from triage.errors import TriageError
from triage.store.display import mask_contact
from triage.store.fulltext import MAX_QUERY_CHARS
from triage.store.search import CaseFilter

router = APIRouter(route_class=PageRoute, include_in_schema=False)

# Why a message per code: the store's errors are English for API clients; operators read Chinese.
MESSAGES = {
    "empty": "请输入案件编号、地址或关键词。",
    "too_long": f"搜索内容过长，最多 {MAX_QUERY_CHARS} 个字。",
    "no_words": "搜索内容只有标点或常用字，请换个关键词。",
    "bad_phone": "请输入正确的电话号码（5 到 20 位数字）。",
}


@router.get("/search")
def search_page(request: Request, user: PageUser, q: str = "", phone: str = "", page: int = 1) -> Response:
    service = request.app.state.service
    q, phone = q.strip()[: MAX_QUERY_CHARS + 1], phone.strip()[:64]
    page = max(1, min(page, 1_000))
    rows, errors = [], {}
    if q or phone:
        f = CaseFilter(q=q or None, phone=phone or None, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
        try:
            rows = cases.search(service, user, f)
        except TriageError as exc:
            errors[getattr(exc, "field", None) or "q"] = MESSAGES.get(exc.code, "搜索条件不正确。")
    shown = rows[:PAGE_SIZE]
    ctx = {
        "q": q,
        "phone": phone,
        "rows": shown,
        "errors": errors,
        "searched": bool(q or phone) and not errors,
        "page": page,
        "has_next": len(rows) > PAGE_SIZE,
        "contacts": {c.case_no: mask_contact(c.reporter_contact) for c in shown},
        "names": display_names(service, [c.grid_code for c in shown]),
        "now": service.clock(),
        "max_q": MAX_QUERY_CHARS,
    }
    return render(request, "search.html", ctx)
