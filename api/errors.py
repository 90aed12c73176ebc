"""The error contract: every 4xx/5xx body is ``{"error": {"code", "message", "field"?}}``.

Handlers here turn every exception (HTTP, validation, :class:`TriageError`, anything else)
into that shape; :class:`CatchAllMiddleware` answers unexpected ones without dropping the
keep-alive connection, and :class:`BodySizeLimitMiddleware` answers oversized bodies with 413
before the framework reads them, whether or not the client sent a Content-Length.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any, get_args

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError as PydanticValidationError
from pydantic_core.core_schema import ErrorType
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from triage.config import Settings
from triage.errors import TriageError

log = logging.getLogger(__name__)

# Request bodies must admit every text the intake accepts, in every encoding a client may use.
# Per character of text: a "\uXXXX" JSON escape is 6 bytes, UTF-8 form-urlencoding ("%E8%B7%AF")
# 9, and a character outside the BMP (emoji) 12 in both (a surrogate pair, or four "%XX").
BYTES_PER_TEXT_CHAR = 12
BODY_ROOM_BYTES = 64 * 1024  # every other field (title, names, address, tokens) and the framing
DRAIN_FACTOR = 4  # a browser's oversized form is read up to this many limits, so it sees the page
DRAIN_SECONDS = 10.0


def max_body_bytes(max_text_chars: int) -> int:
    """The body limit derived from the one text limit (``Settings.max_text_chars``)."""
    return max_text_chars * BYTES_PER_TEXT_CHAR + BODY_ROOM_BYTES


MAX_BODY_BYTES = max_body_bytes(Settings.model_fields["max_text_chars"].default)

# Default codes for bare HTTP statuses (404 for unknown paths, 405 for wrong methods …).
_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}


class ApiError(Exception):
    """An error raised by the API layer itself, with its HTTP status."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        field: str | None = None,
        allowed: Sequence[str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.allowed = list(allowed) if allowed is not None else None
        self.headers = headers


def error_body(
    code: str, message: str, field: str | None = None, allowed: Sequence[str] | None = None
) -> dict[str, Any]:
    err: dict[str, Any] = {"code": code, "message": message}
    if field:
        err["field"] = field
    if allowed is not None:
        err["allowed"] = list(allowed)
    return {"error": err}


def error_response(
    status: int,
    code: str,
    message: str,
    field: str | None = None,
    allowed: Sequence[str] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(error_body(code, message, field, allowed), status_code=status, headers=headers)


def unknown_value(field: str, value: object, allowed: Sequence[str], *, code: str | None = None) -> ApiError:
    """422 for a category/department/state outside the configured set, listing the allowed ones."""
    code = code or f"unknown_{field.rsplit('.', 1)[-1]}"
    return ApiError(422, code, f"unknown {field} {value!r}", field=field, allowed=allowed)


# -- TriageError → status ----------------------------------------------------------------
def status_for(exc: TriageError) -> int:
    """The HTTP status of an engine or store error: its class's ``status_code`` (422 by default,
    404 for a missing case, 409 for conflicts, 503 for a model or configuration that cannot load)."""
    return exc.status_code


# -- validation errors -------------------------------------------------------------------
def field_name(loc: Sequence[int | str]) -> str:
    """('body', 'items', 0, 'x') → 'items[0].x'; the request part is dropped."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header", "cookie", "form"):
        parts = parts[1:]
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out += f".{p}" if out else str(p)
    return out


_PYDANTIC_ERROR_TYPES = frozenset(get_args(ErrorType))


def _plain_msg(error: Any) -> str:
    """pydantic's message, without the "Value error, " it puts before our validators' own text."""
    msg = str(error.get("msg", "invalid value"))
    return msg.removeprefix("Value error, ") if error.get("type") == "value_error" else msg


async def _validation_handler(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    first: dict[str, Any] = errors[0] if errors else {"loc": (), "msg": "invalid request", "type": "invalid"}
    if first.get("type") == "json_invalid":
        return error_response(400, "malformed_json", f"request body is not valid JSON: {first.get('msg')}")
    field = field_name(first.get("loc", ()))
    ctx = first.get("ctx") or {}
    allowed = None
    if first.get("type") == "enum" and "expected" in ctx:
        allowed = [s.strip().strip("'") for s in str(ctx["expected"]).replace(" or ", ",").split(",")]
    msg = _plain_msg(first)
    message = f"{field}: {msg}" if field else msg
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more)"
    # A validator's own error type (PydanticCustomError, e.g. date_out_of_range) is the code.
    code = first.get("type") if first.get("type") not in _PYDANTIC_ERROR_TYPES else "validation_error"
    return error_response(422, str(code), message, field or None, allowed)


async def _model_validation_handler(request: Request, exc: PydanticValidationError) -> JSONResponse:
    """A model built inside an endpoint rejected a value the request carried: still the caller's 422."""
    first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid value"}
    field = field_name(first.get("loc", ()))
    return error_response(
        422,
        "validation_error",
        f"{field}: {_plain_msg(first)}" if field else _plain_msg(first),
        field or None,
    )


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def _allowed_methods(request: Request) -> str | None:
    """Every method some route serves at this path (Starlette lists only the matched route's)."""
    routes = request.app.router.routes
    allowed = [
        method
        for method in _METHODS
        if any(route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes)
    ]
    return ", ".join(allowed) or None


async def _http_handler(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    detail = exc.detail
    code = _STATUS_CODES.get(exc.status_code, "http_error")
    if exc.status_code == 405 and (allow := _allowed_methods(request)):
        exc.headers = {**(exc.headers or {}), "Allow": allow}
    headers = dict(exc.headers) if exc.headers else None
    if isinstance(detail, dict) and "code" in detail:
        return error_response(
            exc.status_code,
            detail["code"],
            str(detail.get("message", "")),
            detail.get("field"),
            None,
            headers,
        )
    return error_response(exc.status_code, code, str(detail), headers=headers)


async def _api_handler(request: Request, exc: ApiError) -> JSONResponse:
    return error_response(exc.status, exc.code, exc.message, exc.field, exc.allowed, exc.headers)


async def _triage_handler(request: Request, exc: TriageError) -> JSONResponse:
    allowed = getattr(exc, "allowed", None)
    return error_response(status_for(exc), exc.code, exc.message, exc.field, allowed)


async def _catch_all(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(500, "internal_error", "internal server error")


class CatchAllMiddleware:
    """Answer an unexpected exception with the 500 body and keep the connection open.

    Starlette's outermost error middleware re-raises after answering, which makes the server
    close the (keep-alive) connection. This one sits inside it, logs the exception once,
    answers and returns normally; if the response had already started, only closing the
    connection can signal the failure, so the exception goes on up.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started:
                raise
            response = await _catch_all(Request(scope, receive), exc)
            await response(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_handler)  # type: ignore[arg-type]
    app.add_exception_handler(PydanticValidationError, _model_validation_handler)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_handler)  # type: ignore[arg-type]
    app.add_exception_handler(ApiError, _api_handler)  # type: ignore[arg-type]
    app.add_exception_handler(TriageError, _triage_handler)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _catch_all)  # errors raised outside CatchAllMiddleware
    app.add_middleware(CatchAllMiddleware)  # the innermost middleware: added before all others


# -- body size limit -----------------------------------------------------------------------
async def send_json(send: Send, status: int, body: dict[str, Any]) -> None:
    payload = json.dumps(body, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class BodySizeLimitMiddleware:
    """Reject request bodies over ``max_bytes`` with 413, counting bytes as they arrive.

    The body is buffered (it is small by construction) and replayed to the app, so a
    chunked upload without Content-Length is cut off as soon as it passes the limit.
    Browsers get a page instead of the JSON body when the app provides one:
    ``app.state.too_large_page(scope)`` returns a Response, or None for machine clients.
    """

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self.limit(scope)
        too_large = error_body("payload_too_large", f"request body exceeds {max_bytes} bytes")
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await send_json(send, 400, error_body("bad_request", "invalid Content-Length header"))
                    return
                if declared > max_bytes:
                    drain = declared <= max_bytes * DRAIN_FACTOR
                    await self._refuse(scope, receive, send, too_large, drain=drain, seen=0, limit=max_bytes)
                    return
        chunks: list[bytes] = []
        total = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # client went away
                return
            body = message.get("body", b"")
            total += len(body)
            if total > max_bytes:
                more = bool(message.get("more_body", False))
                await self._refuse(scope, receive, send, too_large, drain=more, seen=total, limit=max_bytes)
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def limit(self, scope: Scope) -> int:
        """This request's limit: ``max_bytes``, or more on the paths that take files
        (``app.state.body_limit_for(scope)``, set by :func:`api.uploads.setup`)."""
        state = getattr(scope.get("app"), "state", None)
        limit_for = getattr(state, "body_limit_for", None)
        larger = limit_for(scope) if limit_for is not None else None
        return max(self.max_bytes, larger) if larger else self.max_bytes

    async def _refuse(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        body: dict[str, Any],
        *,
        drain: bool,
        seen: int,
        limit: int,
    ) -> None:
        """413: the JSON error, or the app's page for a browser. A browser is first let finish
        sending (``drain``; ``seen`` bytes are read), or it shows a connection reset instead."""
        state = getattr(scope.get("app"), "state", None)
        page_for = getattr(state, "too_large_page", None)
        response = page_for(scope) if page_for is not None else None
        if response is None:
            await send_json(send, 413, body)
            return
        if drain:
            with anyio.move_on_after(DRAIN_SECONDS):
                while seen <= limit * DRAIN_FACTOR:
                    message = await receive()
                    if message["type"] != "http.request":
                        return
                    seen += len(message.get("body", b""))
                    if not message.get("more_body", False):
                        break
        response.headers["connection"] = "close"
        await response(scope, receive, send)
