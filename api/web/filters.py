"""Filters of the review queue and the department desk as GET parameters (issue #13).

Why GET: a filtered queue is a URL a reviewer can bookmark, reload or send to a colleague. Unknown
values are dropped rather than refused, so an old bookmark still opens the (unfiltered) page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import Request

from api.validation import DATE_MAX, DATE_MIN, in_date_range
from triage.store.models import PRIORITY_RANK, Source
from triage.store.queue import OVERDUE
from triage.store.service import CaseService

PRIORITY_LABELS = {"urgent": "紧急", "high": "较急", "normal": "一般"}
SOURCE_LABELS = {
    "hotline": "热线",
    "grid": "网格",
    "deputy": "代表",
    "web": "网站",
    "open311": "接口",
    "batch": "导入",
}


@dataclass(slots=True)
class Filters:
    """The chosen values (parameter name → value) and the options the form offers."""

    values: dict[str, str] = field(default_factory=dict)
    options: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    def query(self, **extra: str) -> str:
        """The filters as a query string (for pager and tab links), ``extra`` added."""
        return urlencode({**self.values, **{k: v for k, v in extra.items() if v}})


def read_filters(request: Request, service: CaseService, names: tuple[str, ...]) -> Filters:
    """The filters ``names`` (of category, department, grid, priority, source, overdue) from the URL."""
    params = request.query_params
    departments = [(d.code, d.name) for d in service.catalog.departments()]
    options: dict[str, list[tuple[str, str]]] = {
        "category": [(c, c) for c in service.catalog.category_names()],
        "department": departments,
        "priority": [(p, PRIORITY_LABELS.get(p, p)) for p in PRIORITY_RANK],
        "source": [(s.value, SOURCE_LABELS.get(s.value, s.value)) for s in Source],
        "overdue": [("1", "仅超期")],
    }
    values: dict[str, str] = {}
    for name in names:
        value = (params.get(name) or "").strip()
        if not value:
            continue
        if name == "grid":
            if len(value) <= 64:
                values[name] = value
        elif value in {code for code, _ in options.get(name, [])}:
            values[name] = value
    return Filters(values, {k: v for k, v in options.items() if k in names})


STORE_NAMES = {
    "category": "category",
    "department": "department_code",
    "grid": "grid_code",
    "priority": "priority",
    "source": "source",
    "overdue": OVERDUE,
}


def queue_filters(f: Filters) -> dict[str, Any]:
    """The chosen filters under the store's names (:func:`triage.store.queue.filter_conditions`)."""
    return {STORE_NAMES[k]: v for k, v in f.values.items() if k in STORE_NAMES}


def read_period(params: Mapping[str, str], errors: dict[str, str]) -> tuple[date | None, date | None]:
    """``date_from`` / ``date_to`` from the URL; a Chinese message per bad field goes into ``errors``."""
    out: dict[str, date | None] = {"date_from": None, "date_to": None}
    for name in out:
        raw = (params.get(name) or "").strip()
        if not raw:
            continue
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            errors[name] = "日期格式应为 2026-01-31。"
            continue
        if in_date_range(day):
            out[name] = day
        else:
            errors[name] = f"日期应在 {DATE_MIN:%Y-%m-%d} 至 {DATE_MAX:%Y-%m-%d} 之间。"
    if out["date_from"] and out["date_to"] and out["date_from"] > out["date_to"]:
        errors["date_to"] = "结束日期不能早于开始日期。"
    return out["date_from"], out["date_to"]
