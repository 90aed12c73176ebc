"""Attachments over the JSON API (SQLite and PostgreSQL): multipart upload, 413/415 in the error
contract, EXIF GPS stripped unless kept, thumbnails, listing, serving headers, the per-case limit."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlmodel import col, select
from support.api_env import ApiEnv
from support.attachments import BACKENDS, attachment_app
from support.images import MINIMAL_PDF, has_gps, jpeg_with_gps, png, webp

from triage.store.models import Case

MANHOLE = "椰海大道和南海大道交叉口的井盖破了一个大洞，晚上骑电动车很危险，请尽快更换。"
MAX_BYTES = 300_000


@pytest.fixture(scope="module", params=BACKENDS)
def api(request, tmp_path_factory, store_triager):
    with attachment_app(request.param, tmp_path_factory.mktemp("att"), store_triager, MAX_BYTES, 4) as env:
        yield env


def new_case(api: ApiEnv, who: str = "grid1") -> str:
    r = api.post(who, "/api/v1/cases", json={"text": MANHOLE, "grid": "G001"})
    assert r.status_code == 201, r.text
    return r.json()["case_no"]


def upload(api: ApiEnv, who: str, case_no: str, data: bytes, name: str, ctype: str = "image/jpeg", **form):
    files = {"file": (name, data, ctype)}
    return api.post(who, f"/api/v1/cases/{case_no}/attachments", files=files, data=form)


def test_upload_list_and_serve_a_photo_without_its_location(api: ApiEnv) -> None:
    no = new_case(api)
    r = upload(api, "grid1", no, jpeg_with_gps(), "井盖.jpg", stage="intake")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["type"] == "image/jpeg" and body["kind"] == "image" and body["size"] > 0 and body["id"] >= 1
    assert body["stage"] == "intake" and body["kept_location"] is False and body["name"] == "井盖.jpg"
    listed = api.get("operator", f"/api/v1/cases/{no}/attachments")
    assert listed.status_code == 200 and [a["id"] for a in listed.json()["items"]] == [body["id"]]
    got = api.get("grid1", body["url"])
    assert got.status_code == 200 and got.headers["content-type"] == "image/jpeg"
    assert got.headers["x-content-type-options"] == "nosniff"
    assert (
        got.headers["content-disposition"].startswith("inline;")
        and "filename*=UTF-8''" in got.headers["content-disposition"]
    )
    assert "sandbox" in got.headers["content-security-policy"]
    assert len(got.content) == body["size"] and not has_gps(got.content)
    thumb = api.get("grid1", body["thumbnail_url"])
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(thumb.content)) as image:
        assert max(image.size) == 320 and not image.getexif()


def test_location_kept_when_ticked(api: ApiEnv) -> None:
    no = new_case(api)
    r = upload(api, "grid1", no, jpeg_with_gps(), "gps.jpg", keep_location="true")
    assert r.status_code == 201 and r.json()["kept_location"] is True
    assert has_gps(api.get("grid1", r.json()["url"]).content)


def test_png_named_pdf_is_stored_as_png_and_webp_works(api: ApiEnv) -> None:
    no = new_case(api)
    r = upload(api, "grid1", no, png(), "report.pdf", "application/pdf")
    assert r.status_code == 201 and r.json()["type"] == "image/png"
    assert upload(api, "grid1", no, webp(), "x.webp", "image/webp").json()["type"] == "image/webp"


def test_pdf_is_a_download(api: ApiEnv) -> None:
    no = new_case(api)
    r = upload(api, "operator", no, MINIMAL_PDF, "办结报告.pdf", "application/pdf")
    assert (
        r.status_code == 201 and r.json()["type"] == "application/pdf" and r.json()["thumbnail_url"] is None
    )
    got = api.get("operator", r.json()["url"])
    assert got.headers["content-type"] == "application/pdf" and got.content == MINIMAL_PDF
    assert got.headers["content-disposition"].startswith("attachment;")


@pytest.mark.parametrize(
    ("data", "name", "ctype"),
    [
        (b"just some text, not a photo\n" * 10, "photo.jpg", "image/jpeg"),
        (b"<html><script>alert(1)</script></html>", "page.png", "image/png"),
        (b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>", "x.svg", "image/svg+xml"),
        (b"GIF89a\x01\x00\x01\x00\x80\x00\x00", "anim.gif", "image/gif"),
    ],
)
def test_wrong_type_is_415_with_the_error_contract(api: ApiEnv, data: bytes, name: str, ctype: str) -> None:
    no = new_case(api)
    r = upload(api, "grid1", no, data, name, ctype)
    assert r.status_code == 415, r.text
    assert r.json()["error"]["code"] == "unsupported_file_type" and r.json()["error"]["field"] == "file"
    assert api.get("grid1", f"/api/v1/cases/{no}/attachments").json()["items"] == []


def test_too_large_is_413_with_the_error_contract(api: ApiEnv) -> None:
    no = new_case(api)
    r = upload(api, "grid1", no, b"%PDF-1.4\n" + b"0" * (MAX_BYTES + 10), "big.pdf", "application/pdf")
    assert r.status_code == 413, r.text
    assert r.json()["error"]["code"] in ("file_too_large", "payload_too_large")
    far = upload(api, "grid1", no, b"%PDF-1.4\n" + b"0" * (MAX_BYTES * 3), "huge.pdf", "application/pdf")
    assert far.status_code == 413 and far.json()["error"]["code"] == "payload_too_large"


def test_missing_file_and_bad_stage_name_the_field(api: ApiEnv) -> None:
    no = new_case(api)
    r = api.post("grid1", f"/api/v1/cases/{no}/attachments", data={"stage": "case"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "file"
    bad = upload(api, "grid1", no, png(), "a.png", "image/png", stage="../../etc")
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "stage"


def test_per_case_limit(api: ApiEnv) -> None:
    no = new_case(api)
    for _ in range(4):
        assert upload(api, "grid1", no, png((40, 40)), "a.png", "image/png").status_code == 201
    r = upload(api, "grid1", no, png((40, 40)), "a.png", "image/png")
    assert r.status_code == 409 and r.json()["error"]["code"] == "too_many_attachments"


def test_resolution_proof_only_for_who_may_resolve(api: ApiEnv) -> None:
    no = new_case(api)
    r = upload(api, "grid1", no, png(), "proof.png", "image/png", stage="resolution")
    assert r.status_code == 403
    # resolving is the department's step (issue 13 item 4): a reviewer may not attach 办结 proof either
    assert upload(api, "reviewer", no, png(), "proof.png", "image/png", stage="resolution").status_code == 403
    assert upload(api, "admin", no, png(), "proof.png", "image/png", stage="resolution").status_code == 201


def test_unknown_case_and_attachment(api: ApiEnv) -> None:
    assert upload(api, "reviewer", "2000010100001", png(), "a.png", "image/png").status_code == 404
    no = new_case(api)
    assert api.get("reviewer", f"/api/v1/cases/{no}/attachments/999999").status_code == 404
    assert api.get(None, f"/api/v1/cases/{no}/attachments").status_code == 401


def test_department_scope(api: ApiEnv) -> None:
    no = new_case(api)
    with api.app.state.db.session(write=True) as session:
        case = session.exec(select(Case).where(col(Case.case_no) == no)).one()
        case.department_code, case.status = "housing", "dispatched"
        session.add(case)
    r = upload(api, "dept_housing", no, jpeg_with_gps(), "done.jpg", stage="resolution")
    assert r.status_code == 201, r.text
    url = r.json()["url"]
    assert api.get("dept_housing", url).status_code == 200
    for who in ("dept_other", "grid2"):
        assert api.get(who, url).status_code in (403, 404)
        assert api.get(who, f"/api/v1/cases/{no}/attachments").status_code in (403, 404)
        assert upload(api, who, no, png(), "x.png", "image/png").status_code in (403, 404)
