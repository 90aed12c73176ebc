"""Attachments in the store (SQLite and PostgreSQL): type from the content, metadata stripped unless
kept, thumbnails, the per-case limit, durable writes and no orphan files."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest
from PIL import Image
from sqlmodel import col, select
from support.images import MINIMAL_PDF, exif_of, has_gps, jpeg_with_gps, png, webp

from triage.config import Settings
from triage.errors import TriageError
from triage.store import attachment_files as files
from triage.store.attachments import AttachmentNotFoundError, AttachmentService
from triage.store.errors import CaseNotFoundError
from triage.store.models import Attachment, AuditEvent

MANHOLE = "解放西路和龙华路交叉口的井盖坏了，缺了一角，晚上骑车很危险，请尽快更换。"


@pytest.fixture
def attachments(case_service, tmp_path: Path) -> AttachmentService:
    settings = Settings(
        attachments_dir=tmp_path / "files", attachment_max_bytes=200_000, attachment_max_per_case=3
    )
    return AttachmentService(case_service.db, settings, clock=case_service.clock)


@pytest.fixture
def case_no(case_service) -> str:
    return case_service.submit(MANHOLE, source="grid", actor="grid1").case_no


def stored_files(svc: AttachmentService) -> list[Path]:
    root = Path(svc.settings.attachments_dir)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_photo_is_stored_cleaned_with_thumbnail_and_audited(attachments, case_no) -> None:
    photo = jpeg_with_gps((1200, 900))
    assert has_gps(photo)
    row = attachments.add(case_no, photo, actor="grid1", stage="intake", filename="../../etc/井盖.jpg")
    assert (row.kind, row.content_type, row.stage, row.width, row.height) == (
        "image",
        "image/jpeg",
        "intake",
        1200,
        900,
    )
    assert row.original_name == "井盖.jpg"  # display text only: the last path part
    assert row.uploaded_by == "grid1" and not row.kept_location
    stored = attachments.storage.read(row.storage_key)
    assert len(stored) == row.size and not has_gps(stored) and 0x0110 not in exif_of(stored)
    assert files.KEY_RE.fullmatch(row.storage_key) and "井盖" not in row.storage_key
    assert row.thumb_key is not None
    with Image.open(io.BytesIO(attachments.storage.read(row.thumb_key))) as thumb:
        assert thumb.format == "JPEG" and max(thumb.size) == files.THUMB_PX and not thumb.getexif()
    assert [a.id for a in attachments.list_for(case_no)] == [row.id]
    with attachments.db.session() as session:
        event = session.exec(select(AuditEvent).where(col(AuditEvent.action) == "attachment_added")).one()
    assert event.case_no == case_no and event.actor == "grid1" and event.after["attachment_id"] == row.id


def test_location_is_kept_when_the_uploader_asks(attachments, case_no) -> None:
    row = attachments.add(case_no, jpeg_with_gps(), actor="grid1", keep_location=True)
    assert row.kept_location and has_gps(attachments.storage.read(row.storage_key))


def test_orientation_is_applied_before_exif_is_dropped(attachments, case_no) -> None:
    row = attachments.add(case_no, jpeg_with_gps((800, 600), orientation=6), actor="grid1")
    with Image.open(io.BytesIO(attachments.storage.read(row.storage_key))) as image:
        assert image.size == (600, 800)
    assert (row.width, row.height) == (600, 800)


@pytest.mark.parametrize(("data", "ctype"), [(png(alpha=True), "image/png"), (webp(), "image/webp")])
def test_png_and_webp(attachments, case_no, data: bytes, ctype: str) -> None:
    row = attachments.add(case_no, data, actor="reviewer")
    assert row.content_type == ctype and row.thumb_key is not None


def test_pdf_is_kept_as_is_without_thumbnail(attachments, case_no) -> None:
    row = attachments.add(case_no, MINIMAL_PDF, actor="dept", stage="resolution", filename="办结报告.pdf")
    assert (row.kind, row.content_type, row.thumb_key, row.stage) == (
        "pdf",
        "application/pdf",
        None,
        "resolution",
    )
    assert attachments.storage.read(row.storage_key) == MINIMAL_PDF


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"hello, I am text pretending to be a photo\n", "photo.jpg"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", "a.png"),
        (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "a.gif"),
        (b"\xff\xd8\xff\xe0 truncated jpeg", "broken.jpg"),
        (b"", "empty.jpg"),
    ],
)
def test_wrong_content_is_refused_whatever_the_name(attachments, case_no, data: bytes, name: str) -> None:
    with pytest.raises(TriageError) as info:
        attachments.add(case_no, data, actor="grid1", filename=name)
    assert info.value.status_code == 415 and info.value.field == "file"
    assert stored_files(attachments) == [] and attachments.list_for(case_no) == []


def test_png_named_pdf_is_a_png(attachments, case_no) -> None:
    assert attachments.add(case_no, png(), actor="grid1", filename="report.pdf").content_type == "image/png"


def test_too_large_and_too_many(attachments, case_no) -> None:
    with pytest.raises(TriageError) as info:
        attachments.add(case_no, b"%PDF-" + b"0" * 200_000, actor="grid1")
    assert info.value.status_code == 413 and info.value.code == "file_too_large"
    for _ in range(3):
        attachments.add(case_no, png((50, 50)), actor="grid1")
    with pytest.raises(TriageError) as info:
        attachments.add(case_no, png((50, 50)), actor="grid1")
    assert info.value.code == "too_many_attachments" and info.value.status_code == 409
    assert len(stored_files(attachments)) == 6  # three images and their thumbnails, no orphan


def test_limit_holds_under_concurrent_uploads(attachments, case_no) -> None:
    errors: list[BaseException] = []

    def upload() -> None:
        try:
            attachments.add(case_no, png((60, 60)), actor="grid1")
        except TriageError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=upload) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(attachments.list_for(case_no)) == 3 and len(errors) == 3
    assert len(stored_files(attachments)) == 6  # the refused uploads' files were removed


def test_failed_commit_removes_the_written_files(attachments, case_no, monkeypatch) -> None:
    def boom(session, *args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(attachments, "_insert", boom)
    with pytest.raises(RuntimeError):
        attachments.add(case_no, jpeg_with_gps(), actor="grid1")
    assert stored_files(attachments) == []
    assert not any(p.name.endswith(".tmp") for p in Path(attachments.settings.attachments_dir).rglob("*"))


def test_unknown_case_stage_and_foreign_attachment_id(attachments, case_service, case_no) -> None:
    with pytest.raises(CaseNotFoundError):
        attachments.add("20990101-00001", png(), actor="grid1")
    with pytest.raises(TriageError) as info:
        attachments.add(case_no, png(), actor="grid1", stage="../etc")
    assert info.value.field == "stage"
    other = case_service.submit(
        "人民大道的路灯不亮了，已经一个星期了，请派人修理。", source="hotline"
    ).case_no
    row = attachments.add(other, png(), actor="operator")
    with pytest.raises(AttachmentNotFoundError):
        attachments.get(case_no, row.id)  # an id of another case is not found through this one
    assert attachments.get(other, row.id).id == row.id


def test_closed_cases_take_no_files(attachments, case_service, case_no) -> None:
    case_service.transition(case_no, "rejected", "reviewer", reason="重复")
    with pytest.raises(TriageError) as info:
        attachments.add(case_no, png(), actor="reviewer")
    assert info.value.code == "case_closed"


@pytest.mark.parametrize(
    "key", ["../x.jpg", "/etc/passwd", "ab/../../x.jpg", "ab/" + "0" * 32 + ".html", "a\x00b"]
)
def test_storage_refuses_keys_it_did_not_make(tmp_path: Path, key: str) -> None:
    store = files.LocalStorage(tmp_path)
    with pytest.raises(ValueError):
        store.read(key)
    with pytest.raises(ValueError):
        store.put(key, b"x")


def test_rows_survive_and_match_files(attachments, case_no) -> None:
    row = attachments.add(case_no, jpeg_with_gps(), actor="grid1")
    with attachments.db.session() as session:
        again = session.get(Attachment, row.id)
    assert again is not None and again.sha256 == row.sha256 and again.created_at.tzinfo is not None
