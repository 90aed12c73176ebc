"""Size limits admit every text the intake accepts (issue 10, findings 8 and 11).

One setting, ``Settings.max_text_chars``, sets the text limit; the request-body limit is derived
from it for the worst encoding a client may use (``\\u``-escaped JSON, UTF-8 form-urlencoding,
characters outside the BMP). Over-long text is refused with a message next to the field and
never cut, in the browser (client-side check) and on the server (the form comes back with
everything typed). A browser's form post over the body limit gets a Chinese page, not JSON.
The same in a real browser: tests/browser/test_limits_browser.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from starlette.datastructures import FormData
from support.api_env import running_app, temporary_database
from test_web_support import WebUser, field_block

from api.errors import BYTES_PER_TEXT_CHAR, max_body_bytes
from api.web.forms import form_str
from triage.config import Settings
from triage.errors import InputError

LIMIT = Settings().max_text_chars
REPO = Path(__file__).resolve().parents[2]


def _json(body: dict) -> dict:
    """A JSON request body with every non-ASCII character \\u-escaped (6 or 12 bytes each)."""
    return {"content": json.dumps(body, ensure_ascii=True), "headers": {"Content-Type": "application/json"}}


# -- the body limit follows the text limit ----------------------------------------------------------
def test_the_body_limit_is_derived_from_the_text_limit() -> None:
    assert max_body_bytes(LIMIT) >= LIMIT * BYTES_PER_TEXT_CHAR
    assert len(json.dumps({"text": "😀" * LIMIT})) <= max_body_bytes(LIMIT)  # a surrogate pair each
    assert len("路".encode()) * 3 * LIMIT <= max_body_bytes(LIMIT)  # %E8%B7%AF: 9 bytes each


def test_the_longest_text_passes_in_every_encoding(api_env) -> None:
    text, title = "路" * LIMIT, "标题" * 100
    r = api_env.post("operator", "/api/v1/cases", **_json({"text": text, "title": title}))
    assert r.status_code == 201, r.text[:500]
    assert len(api_env.get("operator", f"/api/v1/cases/{r.json()['case_no']}").json()["text"]) == LIMIT
    hint = api_env.post("operator", "/api/v1/triage", **_json({"text": "😀" * LIMIT}))
    assert hint.status_code == 200 and hint.json()["needs_review"]  # 12 bytes a character, abstains
    web = WebUser(api_env.app, "operator")  # form-urlencoded: 9 bytes a character
    r = web.post("/intake", {"text": "街" * LIMIT, "title": title, "address": "幸福路" * 80})
    assert r.status_code == 303, r.text[:500]


def test_one_character_over_is_a_clear_error_naming_the_field(api_env) -> None:
    r = api_env.post("operator", "/api/v1/cases", **_json({"text": "路" * (LIMIT + 1)}))
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "text_too_long" and r.json()["error"]["field"] == "text"
    r = api_env.post("operator", "/api/v1/triage", **_json({"text": "路" * (LIMIT + 1)}))
    assert r.status_code == 422 and r.json()["error"]["field"] == "text"
    # Windows line breaks count once, as stored
    r = api_env.post("operator", "/api/v1/triage", json={"text": "路\r\n" * (LIMIT // 2)})
    assert r.status_code == 200


def test_an_over_long_paste_comes_back_whole_with_the_reason(api_env) -> None:
    web = WebUser(api_env.app, "operator")
    before = api_env.get("operator", "/api/v1/cases?limit=1").json()
    pasted = "井盖丢失" * 7500  # 30,000 characters
    r = web.post("/intake", {"text": pasted, "title": "井盖", "address": "幸福路 12 号"})
    assert r.status_code == 422
    block = field_block(r.text, "text")
    assert "诉求内容过长" in block and "已输入 30000 字" in block and f"最多 {LIMIT} 字" in block
    textarea = re.search(r"<textarea[^>]*>(.*?)</textarea>", block, re.S)
    assert textarea and textarea.group(1) == pasted  # everything typed is kept, nothing cut
    assert " maxlength=" not in r.text and f'data-maxlength="{LIMIT}"' in r.text
    assert 'value="幸福路 12 号"' in r.text
    assert api_env.get("operator", "/api/v1/cases?limit=1").json() == before  # nothing stored
    r = web.post("/intake", {"text": "井盖丢失", "title": "井" * 201})
    assert r.status_code == 422 and "不能超过 200 个字符（已输入 201 个）" in field_block(r.text, "title")
    assert "诉求内容过长" in web.suggest(pasted).text  # the live suggestion refuses it too


def test_bodies_over_the_limit_answer_json_to_clients_and_a_page_to_browsers(api_env) -> None:
    too_big = b"x" * (max_body_bytes(LIMIT) + 1)
    r = api_env.post(
        "operator", "/api/v1/cases", content=too_big, headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
    web = WebUser(api_env.app, "operator")
    r = web.post("/intake", {"text": "路" * (LIMIT * 2)})  # 360 KB form-urlencoded
    assert r.status_code == 413 and r.headers["content-type"].startswith("text/html")
    assert "提交的内容过大" in r.text and f"最多 {LIMIT} 字" in r.text and '"error"' not in r.text


def test_the_limit_is_one_setting(tmp_path, store_triager) -> None:
    with (
        temporary_database("sqlite", tmp_path) as url,
        running_app(url, store_triager, max_text_chars=100) as env,
    ):
        r = env.post("operator", "/api/v1/cases", json={"text": "路" * 101})
        assert r.status_code == 422 and r.json()["error"]["code"] == "text_too_long"
        assert env.post("operator", "/api/v1/cases", json={"text": "路" * 100}).status_code == 201
        r = env.post("operator", "/api/v1/cases", content=b" " * (max_body_bytes(100) + 1))
        assert r.status_code == 413
        page = WebUser(env.app, "operator").get("/intake").text
        assert 'data-maxlength="100"' in page


def test_no_other_copy_of_the_text_limit() -> None:
    pattern = re.compile(r"(?<![\w.])20_?000(?![\w.])")
    copies = []
    for folder in ("api", "triage"):
        for path in (REPO / folder).rglob("*"):
            if path.suffix in {".py", ".html", ".js"} and path.name != "config.py":
                for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                    if pattern.search(line):
                        copies.append(f"{path.relative_to(REPO)}:{n}: {line.strip()}")
    assert copies == []


def test_form_str_refuses_instead_of_cutting() -> None:
    form = FormData([("text", "  路灯坏了  "), ("note", "字" * 11)])
    assert form_str(form, "text") == "路灯坏了" and form_str(form, "missing") == ""
    assert form_str(form, "note", 11) == "字" * 11
    with pytest.raises(InputError) as info:
        form_str(form, "note", 10)
    assert info.value.code == "too_long" and info.value.field == "note"
