"""Finding 5 and the PII audit: every personal field is masked the same way wherever it is shown.

The audit seeds cases whose every free-text field holds a mobile number and an 18-digit ID
number, drives them through the lifecycle (review, return, reject, merge, resolve, feedback,
Open311), then requests every GET route of the app (enumerated from ``app.routes``) as every
role — JSON API, pages, XLSX exports, /metrics, Open311 — and scans every response body and
every log line (app loggers and uvicorn-style access lines) for the numbers in full.
"""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from support.api_env import TEST_USERS, ApiEnv
from test_web_support import WebUser

from triage.text.masking import TEXT_FIELDS, mask_contact, mask_name, mask_pii, mask_record, mask_terms

MOBILE = "13912345678"
ID_NO = "11010519900307123X"  # ends in X: jieba keeps it as one token, so it reached the explanation
PII = f"联系电话{MOBILE}，身份证号{ID_NO}"
LEAK_RE = re.compile(  # the seeded numbers, and any other mobile or ID-shaped number (not a float's digits)
    rf"{MOBILE}|{ID_NO[:-1]}|(?<![\d.])1[3-9]\d{{9}}(?!\d)"
    r"|(?<![\d.A-Za-z])[1-9]\d{5}(?:19|20)\d{2}(?:0[1-9]|1[0-2])\d{2}\d{3}[\dXx](?![\dA-Za-z])"
)


def test_one_masking_rule_for_every_free_text_field() -> None:
    row = {k: f"{k} {PII}" for k in TEXT_FIELDS} | {"reporter_name": "张三丰", "reporter_contact": MOBILE}
    shown = mask_record(row)
    assert shown is not None
    for key in TEXT_FIELDS:
        assert shown[key] == mask_pii(row[key]) and not LEAK_RE.search(shown[key])
    assert shown["reporter_name"] == "张**" == mask_name("张三丰")
    assert shown["reporter_contact"] == "139****5678" == mask_contact(MOBILE)
    assert mask_terms(["社保卡", ID_NO]) == ["社保卡", "110105***********X"]
    # The hook a later "reveal contact" action will use: only name and contact, never the text.
    revealed = mask_record(row, reveal_contact=True)
    assert (
        revealed is not None
        and revealed["reporter_contact"] == MOBILE
        and revealed["reporter_name"] == "张三丰"
    )
    assert not LEAK_RE.search(revealed["text"])


# ---- the audit -----------------------------------------------------------------------------------------
def _get_routes(app: Any) -> list[str]:
    """Paths of every GET route, walking included routers."""

    def walk(routes: list[Any], prefix: str) -> list[str]:
        out = []
        for r in routes:
            if hasattr(r, "original_router"):  # FastAPI's lazily included router
                out += walk(r.original_router.routes, prefix + r.include_context.prefix)
            elif "GET" in (getattr(r, "methods", None) or ()):
                out.append(prefix + r.path)
        return out

    return walk(app.routes, "")


class Recorder:
    """Every body the audit saw, with where it came from; requests are also written as
    uvicorn access-log lines (the TestClient has no server to write them)."""

    def __init__(self) -> None:
        self.bodies: list[tuple[str, str]] = []
        self.access = logging.getLogger("uvicorn.access")

    def seen(self, label: str, response: Any) -> Any:
        request = response.request
        target = request.url.raw_path.decode()
        self.access.info(
            '%s - "%s %s HTTP/%s" %d', "testclient:50000", request.method, target, "1.1", response.status_code
        )
        body = response.content
        if body.startswith(b"PK\x03\x04"):  # XLSX: the cell values, not the zip bytes
            ws = load_workbook(io.BytesIO(body)).active
            text = "\n".join(
                " ".join(str(v) for v in row if v is not None) for row in ws.iter_rows(values_only=True)
            )
        else:
            text = body.decode("utf-8", "replace")
        self.bodies.append((f"{label} {request.method} {target} → {response.status_code}", text))
        return response


def _ok(rec: Recorder, label: str, response: Any, *codes: int) -> dict:
    rec.seen(label, response)
    assert response.status_code in (codes or (200, 201)), (label, response.status_code, response.text[:500])
    return response.json()


def _drive_lifecycle(api: ApiEnv, rec: Recorder) -> dict[str, str]:
    """Cases with PII in every typed field, through every action that stores text."""

    def submit(who: str, text: str, **extra: Any) -> str:
        body = {
            "text": text, "title": f"下水道堵塞{MOBILE}", "address": f"新华村二组{ID_NO}号{MOBILE}",
            "reporter_name": f"张三丰{MOBILE}{ID_NO}", "reporter_phone": f"{MOBILE} {ID_NO}", **extra,
        }  # fmt: skip
        return _ok(rec, who, api.post(who, "/api/v1/cases", json=body), 201)["case_no"]

    def post(who: str, path: str, body: dict[str, Any]) -> dict:
        return _ok(rec, who, api.post(who, path, json=body))

    a = submit("grid1", f"新华村二组的下水道堵了一个星期，污水倒灌进一楼住户家里，{PII}，希望尽快派人疏通。")
    c = submit(
        "grid1", f"新华村二组下水道堵了一个多星期，污水都倒灌进一楼住户家里了，{PII}，希望尽快派人来疏通！"
    )
    b = submit("grid1", f"楼下烧烤店每天晚上营业到凌晨两点，油烟和噪音扰民严重，{PII}，希望有关部门管一管。")
    d = submit(
        "grid2", f"实验小学门口每天放学时间乱停车严重，接孩子的车把路都堵死了，{PII}，希望交警加强管理。"
    )
    _ok(rec, "triage", api.post("operator", "/api/v1/triage", json={"text": f"社保卡办不下来，{PII}"}))
    post("reviewer", f"/api/v1/cases/{c}/review", {"action": "merge", "into": a, "note": f"重复 {PII}"})
    post("reviewer", f"/api/v1/cases/{b}/review", {"action": "reject", "reason": f"无效来电 {PII}"})
    correct = {
        "action": "correct",
        "department_code": "housing",
        "requirement": f"三日内答复 {PII}",
        "note": PII,
    }
    post("reviewer", f"/api/v1/cases/{a}/review", correct)
    post("dept_housing", f"/api/v1/cases/{a}/transition", {"to": "pending_review", "note": f"非本部门 {PII}"})
    post("reviewer", f"/api/v1/cases/{a}/review", correct)
    post("dept_housing", f"/api/v1/cases/{a}/transition", {"to": "in_progress"})
    post("dept_housing", f"/api/v1/cases/{a}/transition", {"to": "resolved", "result": f"已疏通 {PII}"})
    post("grid1", f"/api/v1/cases/{a}/feedback", {"satisfaction": 4, "comment": f"满意 {PII}"})
    form = {
        "api_key": api.tokens["operator"], "service_code": "城乡建设",
        "description": f"路灯坏了一个月，{PII}", "address_string": f"河西街道{MOBILE}",
        "first_name": f"三{MOBILE}", "last_name": "张", "phone": MOBILE,
    }  # fmt: skip
    e = _ok(rec, "open311", api.client.post("/open311/v2/requests.json", data=form), 201)[0][
        "service_request_id"
    ]
    return {"a": a, "b": b, "c": c, "d": d, "e": e}


def _fill(path: str, case_nos: list[str]) -> list[str]:
    """Concrete URLs for a route path (every case, every list kind, a few filters)."""
    values = {
        "{case_no}": case_nos, "{service_request_id}": case_nos,
        "{kind}": ["problems", "assignments", "completions"],
        "{service_code}": ["城乡建设"], "{token}": case_nos[:1], "{job_id}": ["no-such-job"],
        "{user_id}": ["1"],
    }  # fmt: skip
    urls = [path]
    for name, options in values.items():
        urls = [u.replace(name, v) for u in urls for v in options] if any(name in u for u in urls) else urls
    extra = {
        "/grids": [f"/grids?view={v}" for v in ("cases", "problems", "assignments", "completions")],
        "/api/v1/cases": ["/api/v1/cases?status=closed", "/api/v1/cases?status=rejected"],
        "/api/v1/review-queue": ["/api/v1/review-queue?include_claimed=true"],
    }
    return urls + extra.get(path, [])


def test_no_unmasked_pii_in_any_response_page_export_metric_or_log(api_env: ApiEnv, caplog) -> None:
    caplog.set_level(logging.WARNING, logger="sqlalchemy")  # (sets the handler's level too: first)
    caplog.set_level(logging.INFO)
    rec = Recorder()
    cases = _drive_lifecycle(api_env, rec)
    numbers = list(cases.values())
    urls = [u for p in _get_routes(api_env.app) for u in _fill(p, numbers)]
    assert {"/metrics", "/grids/export/problems.xlsx", "/open311/v2/requests.json"} <= set(urls)
    for who in [None, *TEST_USERS]:
        for url in urls:
            if url.startswith("/open311/"):
                rec.seen(
                    f"api {who}",
                    api_env.client.get(url, params={"api_key": api_env.tokens[who]} if who else {}),
                )
            rec.seen(f"api {who}", api_env.get(who, url))
    for who in TEST_USERS:
        browser = WebUser(api_env.app, who)
        rec.seen(f"web {who}", browser.suggest(f"社保卡办不下来，{PII}"))
        for url in urls:
            rec.seen(f"web {who}", browser.get(url))
    # the audit really saw the cases: details, lists, exports and Open311 all carry them
    shown = "\n".join(text for label, text in rec.bodies if "→ 200" in label)
    assert all(no in shown for no in numbers)
    assert "139****5678" in shown and "110105***********X" in shown and "张*" in shown
    leaks = [(label, m.group(0)) for label, text in rec.bodies for m in LEAK_RE.finditer(text)]
    assert not leaks, leaks[:20]
    logged = [caplog.handler.format(r) for r in caplog.records]
    assert any("api_key=***" in line for line in logged)  # the access lines were written and scrubbed
    log_leaks = [line for line in logged if LEAK_RE.search(line)]
    assert not log_leaks, log_leaks[:20]
    assert not any(t in line for t in api_env.tokens.values() for line in logged)


@pytest.mark.parametrize("role", ["operator", "reviewer", "admin"])
def test_case_json_masks_name_address_and_handling_text(api_env: ApiEnv, role: str) -> None:
    body = {
        "text": f"楼道灯坏了两个星期，晚上很黑，{PII}。", "reporter_name": "张三丰",
        "address": f"新华村{MOBILE}",
    }  # fmt: skip
    no = api_env.post("operator", "/api/v1/cases", json=body).json()["case_no"]
    case = api_env.get(role, f"/api/v1/cases/{no}").json()
    assert case["reporter_name"] == "张**" and case["address"] == "新华村139****5678"
    assert ID_NO not in case["text"] and "110105***********X" in case["text"]
    created = case["history"][0]["after"] or {}
    assert not LEAK_RE.search(str(created)) and "张三丰" not in str(created)


def test_hot_issue_reports_mask_titles_cut_from_raw_file_text(tmp_path) -> None:
    from triage.batch.hot import write_hot_issues
    from triage.dedup.hot_issues import HotIssue

    issue = HotIssue(
        rank=1, title=f"=噪音扰民{MOBILE}", representative_id="7", size=2, record_ids=["7", "8"], heat=2.0,
        keywords=["噪音", ID_NO],
    )  # fmt: skip
    out = write_hot_issues([issue], csv_path=tmp_path / "hot.csv", html_path=tmp_path / "hot.html")
    for path in out.values():
        text = Path(path).read_text(encoding="utf-8-sig")
        assert "噪音扰民139****5678" in text and not LEAK_RE.search(text)
    assert "'=噪音扰民" in (tmp_path / "hot.csv").read_text(encoding="utf-8-sig")  # and never a formula
