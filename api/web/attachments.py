"""照片和附件 on the pages: the case page's gallery and upload form, the file behind a thumbnail,
and the photos sent with the intake form or the proof sent with the resolve form.

Files are served to the session's user with the same scope check as the case page
(:mod:`api.actions.attachments`), with the headers of :func:`api.uploads.file_response`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.datastructures import FormData, UploadFile
from starlette.responses import Response

from api.actions import attachments as actions
from api.errors import ApiError, max_body_bytes
from api.security import Principal
from api.uploads import INTAKE_FILES, file_response
from api.web.forms import form_str
from api.web.render import PageRoute, redirect
from api.web.session import CsrfForm, PageError, PageUser, flash
from triage.config import Settings
from triage.errors import TriageError
from triage.store.attachment_files import FileTooLargeError
from triage.store.attachments import Prepared
from triage.store.lifecycle import FINAL_STATUSES
from triage.store.models import Attachment, AttachmentStage, Case
from triage.store.service import CaseService

router = APIRouter(route_class=PageRoute, include_in_schema=False)

STAGE_LABELS = {"intake": "受理时上传", "case": "补充材料", "resolution": "办结佐证"}
ACCEPT = "image/jpeg,image/png,image/webp,application/pdf"


def _service(request: Request) -> CaseService:
    return request.app.state.service


def message(exc: TriageError, service: CaseService) -> str:
    """The Chinese message for a refused file."""
    settings = service.settings
    mb = settings.attachment_max_bytes // (1024 * 1024)
    return {
        "file_too_large": f"文件过大：单个文件不能超过 {mb} MB。",
        "image_too_large": "图片像素过多，请缩小后再上传。",
        "unsupported_file_type": "文件类型不支持：请上传 JPEG、PNG、WebP 格式的图片或 PDF 文件。",
        "empty_file": "文件是空的，请重新选择。",
        "too_many_attachments": f"本案件的附件已达上限（{settings.attachment_max_per_case} 个）。",
        "case_closed": "案件已结束，不能再上传附件。",
        "invalid_stage": "附件类型不正确。",
    }.get(exc.code, "文件未能上传，请重试。")


def gallery(service: CaseService, user: Principal, case: Case) -> dict[str, Any]:
    """The case page's part: the files (the caller already passed the case's scope check)."""
    rows: list[Attachment] = actions.files_of(service).list_for(case.case_no)
    return {
        "attachments": rows,
        "can_attach": case.status not in FINAL_STATUSES,
        "attach_accept": ACCEPT,
        "attach_max_mb": service.settings.attachment_max_bytes // (1024 * 1024),
        "STAGE_LABELS": STAGE_LABELS,
    }


def _uploads(form: FormData, name: str) -> list[UploadFile]:
    """The non-empty files of a form field (an empty file input sends a part without a name)."""
    return [f for f in form.getlist(name) if isinstance(f, UploadFile) and (f.filename or f.size)]


def _read(upload: UploadFile, max_bytes: int) -> bytes:
    data = upload.file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise FileTooLargeError(f"the file is larger than {max_bytes} bytes", field="file")
    return data


def prepare_files(service: CaseService, form: FormData, name: str, *, limit: int = 1) -> list[Prepared]:
    """Check and clean the files of field ``name`` before anything is stored (TriageError: the first
    bad one)."""
    files = actions.files_of(service)
    keep = form_str(form, "keep_location", 8) in ("1", "on", "true")
    uploads = _uploads(form, name)
    if len(uploads) > limit:
        raise TriageError(f"at most {limit} files", code="too_many_attachments", field=name)
    return [
        files.prepare(_read(u, files.max_bytes), filename=u.filename, keep_location=keep) for u in uploads
    ]


def intake_context(settings: Settings) -> dict[str, Any]:
    """What the intake form's photo field shows."""
    return {"intake_photos": INTAKE_FILES, "attach_max_mb": settings.attachment_max_bytes // (1024 * 1024)}


def prepare_photos(service: CaseService, form: FormData, errors: dict[str, str]) -> list[Prepared]:
    """The intake form's photos, checked before the case is stored; a bad one is ``errors["photos"]``."""
    try:
        return prepare_files(service, form, "photos", limit=INTAKE_FILES)
    except TriageError as exc:
        errors["photos"] = message(exc, service)
        return []


def prepare_proof(service: CaseService, user: Principal, case_no: str, form: FormData) -> list[Prepared]:
    """The resolve form's proof, checked before the case is resolved (TriageError field ``proof``)."""
    if not _uploads(form, "proof"):
        return []
    actions.writable(service, user, case_no, AttachmentStage.RESOLUTION.value)
    try:
        actions.files_of(service).precheck(case_no)
        return prepare_files(service, form, "proof")
    except TriageError as exc:
        exc.field = "proof"  # the resolve form shows it beside the file input (labels.ERROR says why)
        raise


def store_files(
    request: Request, user: Principal, case_no: str, prepared: list[Prepared], stage: AttachmentStage
) -> int:
    """Store checked files after the case step succeeded; a refusal now is a flash, not a lost case."""
    service = _service(request)
    stored = 0
    for p in prepared:
        try:
            actions.store_prepared(service, user, case_no, p, stage.value)
            stored += 1
        except TriageError as exc:
            flash(request, f"附件未保存：{message(exc, service)}", "error")
            break
    return stored


def oversized_text(request: Request, form: FormData) -> Response | None:
    """The 413 page for a multipart form whose *text* is over the text-sized body limit.

    The photo-taking forms (intake, resolve) get a larger body limit for their files
    (:func:`api.uploads.body_limits`); a text field that alone would have broken the old limit
    is answered as before, with the page of ``api.errors.BodySizeLimitMiddleware``.
    """
    limit = max_body_bytes(request.app.state.settings.max_text_chars)
    if not any(isinstance(v, str) and len(v.encode()) > limit for v in form.values()):
        return None
    page_for = getattr(request.app.state, "too_large_page", None)
    page = page_for(request.scope) if page_for is not None else None
    return page if page is not None else Response("request body too large", status_code=413)


@router.get("/cases/{case_no}/attachments/{attachment_id}")
def attachment_file(
    request: Request, case_no: str, attachment_id: int, user: PageUser, thumb: int = 0
) -> Response:
    """The file (or ``?thumb=1`` its thumbnail), for a user who may open the case."""
    service = _service(request)
    try:
        row = actions.fetch(service, user, case_no[:20], attachment_id)
    except ApiError as exc:
        if exc.status == 403:
            raise PageError(403, "该案件不属于您负责的部门或网格，您无权查看。") from None
        raise
    return file_response(actions.files_of(service), row, thumb=bool(thumb))


@router.post("/cases/{case_no}/attachments/upload")
def upload(request: Request, case_no: str, user: PageUser, form: CsrfForm) -> Response:
    """The case page's upload form: one photo or PDF, then back to the gallery."""
    service = _service(request)
    case_no = case_no[:20]
    try:
        stage = actions.writable(service, user, case_no, AttachmentStage.CASE.value)
        actions.files_of(service).precheck(case_no)
        prepared = prepare_files(service, form, "file")
        if not prepared:
            flash(request, "请选择要上传的照片或 PDF 文件。", "error")
        elif store_files(request, user, case_no, prepared, AttachmentStage(stage)):
            flash(request, "附件已上传。")
    except ApiError as exc:
        if exc.status == 403:
            raise PageError(403, "该案件不属于您负责的部门或网格，您无权上传。") from None
        raise
    except TriageError as exc:
        if exc.status_code == 404:
            raise
        flash(request, f"上传失败：{message(exc, service)}", "error")
    return redirect(f"/cases/{case_no}#attachments")


__all__ = [
    "AttachmentStage",
    "Prepared",
    "gallery",
    "intake_context",
    "oversized_text",
    "prepare_photos",
    "prepare_proof",
    "router",
    "store_files",
]
