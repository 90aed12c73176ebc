"""Attachments on the pages (SQLite and PostgreSQL): photos sent with the intake form, proof of 办结
sent with the resolve form; a refused file stops the step before anything is stored."""

from __future__ import annotations

import pytest
from sqlmodel import col, select
from support.api_env import ApiEnv
from support.attachments import BACKENDS, attachment_app
from support.images import MINIMAL_PDF, has_gps, jpeg_with_gps
from test_web_support import WebUser

from api.actions.attachments import files_of
from triage.store.models import Case

DRAIN = "滨海大道公交站旁边的雨水井盖不见了，下雨积水看不见井口，行人很容易踩空，请尽快补装。"
TEXT_NOT_PHOTO = b"this is a text file, not a photo"


@pytest.fixture(scope="module", params=BACKENDS)
def api(request, tmp_path_factory, store_triager):
    with attachment_app(request.param, tmp_path_factory.mktemp("web-att"), store_triager) as env:
        yield env


def _post(web: WebUser, path: str, data: dict, files: list) -> object:
    return web.client.post(path, data={**data, "csrf_token": web.csrf}, files=files)


def _dispatched_to_housing(api: ApiEnv) -> str:
    r = api.post("operator", "/api/v1/cases", json={"text": DRAIN})
    no = r.json()["case_no"]
    with api.app.state.db.session(write=True) as session:
        case = session.exec(select(Case).where(col(Case.case_no) == no)).one()
        case.department_code, case.status = "housing", "dispatched"
        session.add(case)
    return no


def test_intake_stores_the_photos_after_the_case(api: ApiEnv) -> None:
    web = WebUser(api.app, "grid1")
    photos = [
        ("photos", ("a.jpg", jpeg_with_gps(), "image/jpeg")),
        ("photos", ("b.jpg", jpeg_with_gps(), "image/jpeg")),
    ]
    r = _post(web, "/intake", {"text": DRAIN, "grid": "G001"}, photos)
    assert r.status_code == 303, r.text[:500]
    no = r.headers["location"].rsplit("/", 1)[-1]
    stored = files_of(api.app.state.service).list_for(no)
    assert [a.stage for a in stored] == ["intake", "intake"] and not any(a.kept_location for a in stored)
    page = web.get(f"/cases/{no}").text
    assert page.count(f"/cases/{no}/attachments/") >= 2 and "上传照片或 PDF" in page


def test_intake_refuses_a_bad_photo_and_stores_no_case(api: ApiEnv) -> None:
    web = WebUser(api.app, "grid1")
    before = api.count_cases()
    r = _post(
        web, "/intake", {"text": DRAIN, "grid": "G001"}, [("photos", ("x.jpg", TEXT_NOT_PHOTO, "image/jpeg"))]
    )
    assert r.status_code == 422 and "文件类型不支持" in r.text
    assert api.count_cases() == before


def test_resolve_with_proof(api: ApiEnv) -> None:
    no = _dispatched_to_housing(api)
    web = WebUser(api.app, "dept_housing")
    page = web.get(f"/cases/{no}").text
    assert 'name="proof"' in page and 'enctype="multipart/form-data"' in page
    bad = _post(
        web,
        f"/cases/{no}/resolve",
        {"result": "已补装井盖"},
        [("proof", ("p.jpg", TEXT_NOT_PHOTO, "image/jpeg"))],
    )
    assert bad.status_code == 415 and "文件类型不支持" in bad.text  # the form again, the reason by the field
    assert api.app.state.service.get(no).status == "dispatched"  # nothing moved
    ok = _post(
        web,
        f"/cases/{no}/resolve",
        {"result": "已补装井盖"},
        [("proof", ("报告.pdf", MINIMAL_PDF, "application/pdf"))],
    )
    assert ok.status_code == 303, ok.text[:500]
    assert api.app.state.service.get(no).status == "resolved"
    (proof,) = files_of(api.app.state.service).list_for(no)
    assert proof.stage == "resolution" and proof.content_type == "application/pdf"


def test_case_page_upload_keeps_location_when_ticked(api: ApiEnv) -> None:
    no = _dispatched_to_housing(api)
    web = WebUser(api.app, "dept_housing")
    files = [("file", ("gps.jpg", jpeg_with_gps(), "image/jpeg"))]
    r = _post(web, f"/cases/{no}/attachments/upload", {"keep_location": "1"}, files)
    assert r.status_code == 303 and r.headers["location"].endswith("#attachments")
    (row,) = files_of(api.app.state.service).list_for(no)
    served = web.get(f"/cases/{no}/attachments/{row.id}")
    assert served.status_code == 200 and has_gps(served.content)
    assert served.headers["x-content-type-options"] == "nosniff"
    assert WebUser(api.app, "dept_other").get(f"/cases/{no}/attachments/{row.id}").status_code == 403


def test_a_file_over_the_body_limit_gets_the_chinese_page(api: ApiEnv) -> None:
    no = _dispatched_to_housing(api)
    web = WebUser(api.app, "dept_housing")
    huge = [("file", ("big.pdf", b"%PDF-1.4\n" + b"0" * 600_000, "application/pdf"))]
    r = _post(web, f"/cases/{no}/attachments/upload", {}, huge)
    assert r.status_code == 413 and r.headers["content-type"].startswith("text/html")
    assert "每个不超过" in r.text and '"error"' not in r.text
    assert files_of(api.app.state.service).list_for(no) == []
