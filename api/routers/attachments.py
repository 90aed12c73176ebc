"""Attachments of a case: upload (multipart, field ``file``), list, and serve one (or its thumbnail).

413 for a file over ``Settings.attachment_max_bytes``, 415 for content that is not a JPEG, PNG,
WebP image or a PDF (decided from the bytes, never from the name or the client's content type),
409 when the case is closed or full; all in the error contract. Scope as for reading the case.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, File, Form, Path, Query, UploadFile
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from api.actions import attachments as actions
from api.deps import CurrentUser, ServiceDep
from api.schemas import ERROR_RESPONSES
from api.uploads import file_response, read_upload
from triage.store.models import Attachment, AttachmentStage

router = APIRouter(prefix="/api/v1/cases", tags=["attachments"], responses=ERROR_RESPONSES)

CaseNo = Annotated[str, Path(max_length=20, description="Public case number, e.g. 2026112200001.")]
AttachmentId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The attachment's id.")]


class AttachmentOut(BaseModel):
    id: int
    case_no: str
    stage: AttachmentStage
    kind: str  # image | pdf
    type: str  # content type found from the content
    size: int  # bytes stored (after metadata was stripped)
    width: int | None = None
    height: int | None = None
    name: str | None = None  # the uploader's file name, display only
    kept_location: bool
    uploaded_by: str
    created_at: datetime
    url: str
    thumbnail_url: str | None = None


class AttachmentList(BaseModel):
    items: list[AttachmentOut]


def attachment_out(row: Attachment) -> AttachmentOut:
    url = f"/api/v1/cases/{row.case_no}/attachments/{row.id}"
    assert row.id is not None
    return AttachmentOut(
        id=row.id,
        case_no=row.case_no,
        stage=AttachmentStage(row.stage),
        kind=row.kind,
        type=row.content_type,
        size=row.size,
        width=row.width,
        height=row.height,
        name=row.original_name,
        kept_location=row.kept_location,
        uploaded_by=row.uploaded_by,
        created_at=row.created_at,
        url=url,
        thumbnail_url=f"{url}?thumb=1" if row.thumb_key else None,
    )


@router.post("/{case_no}/attachments", status_code=201, response_model=AttachmentOut)
async def upload_attachment(
    case_no: CaseNo,
    service: ServiceDep,
    user: CurrentUser,
    file: Annotated[UploadFile, File(description="JPEG, PNG, WebP or PDF; type decided from the content.")],
    stage: Annotated[AttachmentStage, Form(description="intake, case (default) or resolution.")] = (
        AttachmentStage.CASE
    ),
    keep_location: Annotated[
        bool, Form(description="Keep EXIF metadata (GPS position); stripped by default.")
    ] = False,
) -> AttachmentOut:
    """Store a photo or PDF for the case; 201 once the file and its row are durable."""
    files = actions.files_of(service)
    await run_in_threadpool(actions.writable, service, user, case_no, stage.value)  # 403/404 before reading
    data = await read_upload(file, files.max_bytes)
    row = await run_in_threadpool(
        actions.upload,
        service,
        user,
        case_no,
        data,
        stage=stage.value,
        filename=file.filename,
        keep_location=keep_location,
    )
    return attachment_out(row)


@router.get("/{case_no}/attachments", response_model=AttachmentList)
def list_attachments(case_no: CaseNo, service: ServiceDep, user: CurrentUser) -> AttachmentList:
    """The case's photos and PDFs, oldest first."""
    rows = actions.listing(service, user, case_no)
    return AttachmentList(items=[attachment_out(r) for r in rows])


@router.get(
    "/{case_no}/attachments/{attachment_id}",
    response_class=Response,
    responses={
        200: {"content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}, "application/pdf": {}}}
    },
)
def get_attachment(
    case_no: CaseNo,
    attachment_id: AttachmentId,
    service: ServiceDep,
    user: CurrentUser,
    thumb: Annotated[bool, Query(description="The 320 px JPEG thumbnail (images only).")] = False,
) -> Response:
    """The file as stored (metadata stripped unless kept); PDFs as downloads."""
    row = actions.fetch(service, user, case_no, attachment_id)
    return file_response(actions.files_of(service), row, thumb=thumb)
