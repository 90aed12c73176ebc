"""Open311 GeoReport v2 at ``/open311/v2``.

Mapping: first-level categories are services (their sub-categories an optional
``subcategory`` attribute); the responsible department is ``agency_responsible``; the
deadline is ``expected_datetime``; duplicates (merged or likely) go into ``status_notes``.
Requests are created synchronously, so the token of a request is its case number.
Authentication: ``Authorization: Bearer`` or the GeoReport ``api_key`` parameter.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Header, Path, Query, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from api.actions.cases import load_visible, search, submit_fields, visibility
from api.deps import ServiceDep, _bearer, principal_for_token
from api.errors import ApiError
from api.idempotency import HEADER, request_hash, submit_idempotent
from api.limits import ADDRESS_CHARS, CATEGORY_CHARS, CONTACT_CHARS
from api.schemas import ERROR_RESPONSES, CaseCreate
from api.security import Principal
from api.validation import Moment, check_category, check_date_range, check_subcategory, day_query
from triage.config import LOCAL_TZ
from triage.errors import TriageError
from triage.store.models import Case, CaseStatus, Source
from triage.store.search import CaseFilter
from triage.store.service import CaseService
from triage.text.masking import mask_text

router = APIRouter(prefix="/open311/v2", tags=["open311"], responses=ERROR_RESPONSES)

S = CaseStatus
OPEN = [str(s) for s in (S.PENDING_REVIEW, S.DISPATCHED, S.IN_PROGRESS)]
CLOSED = [str(s) for s in (S.RESOLVED, S.CLOSED, S.MERGED, S.REJECTED)]


async def open311_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    api_key: Annotated[
        str | None, Query(max_length=200, description="GeoReport API key (= API token).")
    ] = None,
) -> Principal:
    token = credentials.credentials if credentials else api_key
    return await principal_for_token(request, token)


Open311User = Annotated[Principal, Depends(open311_user)]


async def open311_form_user(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    """Bearer token or the ``api_key`` form field (checked before the form is validated: 401 first)."""
    token = credentials.credentials if credentials else None
    if token is None:
        try:
            key = (await request.form()).get("api_key")
        except Exception:  # unreadable form: treated as "no key" (the body error follows if authenticated)
            key = None
        token = key if isinstance(key, str) else None
    return await principal_for_token(request, token)


class Service(BaseModel):
    service_code: str
    service_name: str
    description: str
    metadata: bool
    type: str
    keywords: str
    group: str


class AttributeValue(BaseModel):
    key: str
    name: str


class Attribute(BaseModel):
    variable: bool
    code: str
    datatype: str
    required: bool
    datatype_description: str
    order: int
    description: str
    values: list[AttributeValue]


class ServiceDefinition(BaseModel):
    service_code: str
    attributes: list[Attribute]


class ServiceRequest(BaseModel):
    service_request_id: str
    status: str
    status_notes: str | None
    service_name: str | None
    service_code: str | None
    description: str
    agency_responsible: str | None
    service_notice: str | None
    requested_datetime: datetime
    updated_datetime: datetime
    expected_datetime: datetime
    address: str | None
    address_id: str | None = None
    zipcode: str | None = None
    lat: float | None = None
    long: float | None = None
    media_url: str | None = None


class RequestCreated(BaseModel):
    service_request_id: str
    token: str
    service_notice: str | None
    account_id: str | None = None


class TokenInfo(BaseModel):
    service_request_id: str
    token: str


def _categories(service: CaseService) -> dict[str, list[str]]:
    catalog = service.catalog
    return {name: catalog.subcategory_names(name) or [] for name in catalog.category_names()}


def _status_notes(case: Case, visible: Callable[[str | None], bool] | None = None) -> str | None:
    if case.status == S.MERGED and case.duplicate_of:
        return f"与诉求 {case.duplicate_of} 重复，已合并办理"
    notes = []
    if case.status == S.REJECTED and case.reject_reason:
        notes.append(f"不予受理：{case.reject_reason}")
    if case.result and case.status in (S.RESOLVED, S.CLOSED):
        notes.append(f"办理结果：{case.result}")
    if case.duplicate_count:
        notes.append(f"共有 {case.duplicate_count + 1} 位市民反映此问题")
    candidates = [d for d in case.duplicate_candidates or [] if visible is None or visible(d["case_no"])]
    if case.status == S.PENDING_REVIEW and candidates:
        likely = ", ".join(f"{d['case_no']}（相似度 {d['score']:.2f}）" for d in candidates[:3])
        notes.append(f"可能与以下诉求重复：{likely}")
    return "；".join(notes) or None


def to_request(case: Case, visible: Callable[[str | None], bool] | None = None) -> ServiceRequest:
    """The GeoReport view of a case; ``visible`` limits the duplicates named (the caller's scope)."""
    category = case.category or case.suggested_category
    agency = case.department or case.suggested_department
    deadline_local = case.deadline.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
    return ServiceRequest(
        service_request_id=case.case_no,
        status="open" if case.status in OPEN else "closed",
        status_notes=mask_text(_status_notes(case, visible)),  # quotes the result and reasons
        service_name=category,
        service_code=category,
        description=mask_text(case.text_masked),
        agency_responsible=agency,
        service_notice=f"由{agency}办理，期限 {deadline_local}" if agency else None,
        requested_datetime=case.created_at,
        updated_datetime=case.updated_at,
        expected_datetime=case.deadline,
        address=mask_text(case.address),
    )


@router.get("/services.json", response_model=list[Service])
def services(service: ServiceDep, user: Open311User) -> list[Service]:
    """Every first-level category as an Open311 service."""
    out = []
    for name, subs in _categories(service).items():
        out.append(
            Service(
                service_code=name,
                service_name=name,
                description=f"{name}类诉求" + (f"：{'、'.join(subs[:6])}等" if subs else ""),
                metadata=bool(subs),
                type="realtime",
                keywords=",".join(subs),
                group=name,
            )
        )
    return out


@router.get("/services/{service_code}.json", response_model=ServiceDefinition)
def service_definition(
    service_code: Annotated[str, Path(max_length=CATEGORY_CHARS)], service: ServiceDep, user: Open311User
) -> ServiceDefinition:
    """The optional ``subcategory`` attribute of a service."""
    categories = _categories(service)
    if service_code not in categories:
        raise ApiError(404, "unknown_service", f"no service {service_code!r}", field="service_code")
    subs = categories[service_code]
    attribute = Attribute(
        variable=True,
        code="subcategory",
        datatype="singlevaluelist",
        required=False,
        datatype_description="二级分类（可选）",
        order=1,
        description="二级分类",
        values=[AttributeValue(key=s, name=s) for s in subs],
    )
    return ServiceDefinition(service_code=service_code, attributes=[attribute] if subs else [])


@router.post("/requests.json", response_model=list[RequestCreated], status_code=201)
async def create_request(
    service: ServiceDep,
    service_code: Annotated[str, Form(min_length=1, max_length=CATEGORY_CHARS)],
    description: Annotated[
        str, Form(min_length=1, description="The message; the intake checks Settings.max_text_chars.")
    ],
    address_string: Annotated[str | None, Form(max_length=ADDRESS_CHARS)] = None,
    # A form cannot carry null: an unknown position is left out, so the schema says "number".
    lat: Annotated[float, Form(ge=-90, le=90)] = None,  # type: ignore[assignment]
    long: Annotated[float, Form(ge=-180, le=180)] = None,  # type: ignore[assignment]
    first_name: Annotated[str | None, Form(max_length=32)] = None,
    last_name: Annotated[str | None, Form(max_length=32)] = None,
    phone: Annotated[str | None, Form(max_length=CONTACT_CHARS)] = None,
    email: Annotated[str | None, Form(max_length=CONTACT_CHARS)] = None,
    subcategory: Annotated[
        str | None, Form(alias="attribute[subcategory]", max_length=CATEGORY_CHARS)
    ] = None,
    api_key: Annotated[
        str | None, Form(max_length=200, description="GeoReport API key (= API token).")
    ] = None,
    *,
    user: Annotated[Principal, Depends(open311_form_user)],
    idempotency_key: Annotated[str | None, Header(alias=HEADER, description="Retry-safe key.")] = None,
) -> JSONResponse:
    """Create a service request (a case with source ``open311``)."""
    check_category(service, service_code, field="service_code")
    if subcategory:
        check_subcategory(service, service_code, subcategory, field="attribute[subcategory]")
    address = address_string or (f"{lat:.6f},{long:.6f}" if lat is not None and long is not None else None)
    name = "".join(filter(None, (last_name, first_name))) or None
    body = CaseCreate(text=description, address=address, reporter_name=name, reporter_phone=phone or email)

    fields = submit_fields(user, body, Source.OPEN311.value)

    def render(case: Case) -> object:
        created = RequestCreated(
            service_request_id=case.case_no, token=case.case_no, service_notice=_notice(case)
        )
        return [created.model_dump(mode="json")]

    payload = body.model_dump(mode="json") | {"service_code": service_code, "subcategory": subcategory}
    req_hash = request_hash("POST", "/open311/v2/requests.json", payload)
    return await run_in_threadpool(
        submit_idempotent, service, user, idempotency_key, req_hash, fields, render
    )


def _notice(case: Case) -> str | None:
    return to_request(case).service_notice


@router.get("/requests.json", response_model=list[ServiceRequest])
def list_requests(
    service: ServiceDep,
    user: Open311User,
    service_request_id: Annotated[
        str | None, Query(max_length=2000, description="Comma-separated ids.")
    ] = None,
    service_code: Annotated[str | None, Query(max_length=CATEGORY_CHARS)] = None,
    start_date: Annotated[Moment | None, day_query("Created at or after (ISO 8601).")] = None,
    end_date: Annotated[Moment | None, day_query("Created at or before (ISO 8601).")] = None,
    status: Annotated[str | None, Query(pattern="^(open|closed)$", description="open | closed")] = None,
) -> list[ServiceRequest]:
    """Service requests in the caller's scope, newest first (at most 200)."""
    if service_request_id:
        found = []
        for case_no in dict.fromkeys(x.strip() for x in service_request_id.split(",") if x.strip()):
            try:
                found.append(load_visible(service, user, case_no[:20]))
            except (TriageError, ApiError):
                continue  # unknown or out-of-scope ids are left out, as GeoReport expects
        return _requests(service, user, found)
    if service_code:
        check_category(service, service_code, field="service_code")
    statuses = {"open": OPEN, "closed": CLOSED}.get(status or "")
    f = CaseFilter(status=statuses, category=service_code, limit=200)
    if start_date:
        f.date_from = start_date.astimezone(LOCAL_TZ).date() if start_date.tzinfo else start_date.date()
    if end_date:
        f.date_to = end_date.astimezone(LOCAL_TZ).date() if end_date.tzinfo else end_date.date()
    check_date_range(f.date_from, f.date_to, field="start_date")
    return _requests(service, user, search(service, user, f))


def _requests(service: CaseService, user: Principal, cases: list[Case]) -> list[ServiceRequest]:
    """Service requests naming only duplicate candidates the caller may open (one query)."""
    numbers = [d["case_no"] for c in cases for d in c.duplicate_candidates or []]
    visible = visibility(service, user, numbers)
    return [to_request(c, visible) for c in cases]


@router.get("/requests/{service_request_id}.json", response_model=list[ServiceRequest])
def get_request(
    service_request_id: Annotated[str, Path(max_length=20)], service: ServiceDep, user: Open311User
) -> list[ServiceRequest]:
    """One service request (GeoReport returns it as a one-element list)."""
    return _requests(service, user, [load_visible(service, user, service_request_id)])


@router.get("/tokens/{token}.json", response_model=list[TokenInfo])
def token_info(
    token: Annotated[str, Path(max_length=20)], service: ServiceDep, user: Open311User
) -> list[TokenInfo]:
    """The request id behind a token returned by POST requests.json."""
    case = load_visible(service, user, token)
    return [TokenInfo(service_request_id=case.case_no, token=token)]
