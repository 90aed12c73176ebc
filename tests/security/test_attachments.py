"""Attachments (issue 13, item 6): files are typed by their content and served so that a browser
never runs them; names the uploader sent never reach the file system or the headers raw; ids and
paths cannot reach outside the case or the attachments directory; the pages apply the same scope
and CSRF as every other form. SQLite only: the rules are the API's, not the database's."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.api_env import ApiEnv
from support.attachments import attachment_app
from support.images import png
from test_web_support import WebUser

from api.uploads import check_location
from triage.config import Settings
from triage.errors import ConfigError

TEXT = "金盘路工业园门口的排水沟盖板被压断了，车辆经过时很危险，请尽快修复。"
POLYGLOT = png((20, 20)) + b"<html><script>alert(document.cookie)</script></html>"


@pytest.fixture(scope="module")
def api(tmp_path_factory, store_triager):
    with attachment_app("sqlite", tmp_path_factory.mktemp("sec-att"), store_triager) as env:
        yield env


def _case(api: ApiEnv, who: str = "grid1") -> str:
    r = api.post(who, "/api/v1/cases", json={"text": TEXT, "grid": "G001"})
    assert r.status_code == 201, r.text
    return r.json()["case_no"]


def _upload(api: ApiEnv, no: str, data: bytes, name: str, ctype: str = "image/png"):
    return api.post("grid1", f"/api/v1/cases/{no}/attachments", files={"file": (name, data, ctype)})


def _files(api: ApiEnv) -> list[Path]:
    root = Path(api.app.state.settings.attachments_dir)
    return [p for p in root.rglob("*") if p.is_file()]


def test_an_image_with_html_appended_is_re_encoded_and_never_sniffed(api: ApiEnv) -> None:
    no = _case(api)
    r = _upload(api, no, POLYGLOT, "x.html", "text/html")
    assert r.status_code == 201 and r.json()["type"] == "image/png"
    got = api.get("grid1", r.json()["url"])
    assert b"<script>" not in got.content  # re-encoded: the appended page is gone
    assert got.headers["x-content-type-options"] == "nosniff" and got.headers["content-type"] == "image/png"
    assert "sandbox" in got.headers["content-security-policy"]


def test_uploader_names_never_reach_the_disk_or_the_headers(api: ApiEnv) -> None:
    no = _case(api)
    evil = '../../../../tmp/evil"\r\nSet-Cookie: a=b;.png'
    r = _upload(api, no, png(), evil)
    assert r.status_code == 201, r.text
    got = api.get("grid1", r.json()["url"])
    assert "set-cookie" not in {k.lower() for k in got.headers}
    disposition = got.headers["content-disposition"]
    assert "\r" not in disposition and "\n" not in disposition and '"../' not in disposition
    root = Path(api.app.state.settings.attachments_dir).resolve()
    assert all(p.resolve().is_relative_to(root) and "evil" not in p.name for p in _files(api))
    assert not Path("/tmp/evil").exists()


@pytest.mark.parametrize(
    "tail",
    [
        "..%2F..%2Fetc%2Fpasswd",
        "../../../etc/passwd",
        "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "1%00",
        "-1",
        "0",
        "1.5",
    ],
)
def test_path_traversal_in_the_attachment_id(api: ApiEnv, tail: str) -> None:
    no = _case(api)
    _upload(api, no, png(), "a.png")
    r = api.get("grid1", f"/api/v1/cases/{no}/attachments/{tail}")
    assert r.status_code in (404, 422) and b"root:" not in r.content
    w = WebUser(api.app, "grid1").get(f"/cases/{no}/attachments/{tail}")
    assert w.status_code in (404, 422) and b"root:" not in w.content


def test_an_id_of_another_case_is_not_served_through_a_visible_one(api: ApiEnv) -> None:
    mine = _case(api, "grid1")
    theirs = api.post("grid2", "/api/v1/cases", json={"text": TEXT + "二", "grid": "G002"}).json()["case_no"]
    r = api.post(
        "grid2", f"/api/v1/cases/{theirs}/attachments", files={"file": ("b.png", png(), "image/png")}
    )
    assert r.status_code == 201
    foreign = r.json()["id"]
    assert api.get("grid1", f"/api/v1/cases/{mine}/attachments/{foreign}").status_code == 404
    assert api.get("grid1", f"/api/v1/cases/{theirs}/attachments/{foreign}").status_code in (403, 404)
    web = WebUser(api.app, "grid1")
    assert web.get(f"/cases/{mine}/attachments/{foreign}").status_code == 404
    assert web.get(f"/cases/{theirs}/attachments/{foreign}").status_code == 403


def test_pages_need_a_login_and_csrf(api: ApiEnv) -> None:
    no = _case(api)
    r = _upload(api, no, png(), "a.png")
    anonymous = WebUser(api.app, None).get(f"/cases/{no}/attachments/{r.json()['id']}")
    assert anonymous.status_code in (302, 303, 401) and not anonymous.content.startswith(b"\x89PNG")
    web = WebUser(api.app, "grid1")
    before = len(api.get("grid1", f"/api/v1/cases/{no}/attachments").json()["items"])
    forged = web.client.post(
        f"/cases/{no}/attachments/upload", files={"file": ("a.png", png(), "image/png")}, data={}
    )
    assert forged.status_code == 403
    assert len(api.get("grid1", f"/api/v1/cases/{no}/attachments").json()["items"]) == before


def test_the_attachments_directory_may_not_be_served(tmp_path: Path) -> None:
    from api.web.render import HERE

    for inside in (HERE / "static", HERE / "static" / "uploads", HERE / "templates"):
        with pytest.raises(ConfigError):
            check_location(Settings(attachments_dir=inside))
    check_location(Settings(attachments_dir=tmp_path / "files"))  # anywhere else is fine
