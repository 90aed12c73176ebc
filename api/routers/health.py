"""Liveness (no auth) and Prometheus metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from api.deps import CurrentUser, MetricsDep
from api.errors import error_body
from api.schemas import ERROR_RESPONSES, ErrorResponse, Health

router = APIRouter(tags=["operations"])


def _database_ok(request: Request) -> bool:
    try:
        with request.app.state.db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:  # any driver error means "not healthy", never a 500
        return False
    return True


@router.get(
    "/healthz",
    response_model=Health,
    responses={503: {"model": ErrorResponse, "description": "Database unreachable"}},
)
async def healthz(request: Request) -> Health | JSONResponse:
    """Liveness and readiness: the model is loaded and the database answers. No token needed."""
    version = request.app.state.triager.model_version
    if not await run_in_threadpool(_database_ok, request):
        return JSONResponse(error_body("unavailable", "database unreachable"), status_code=503)
    return Health(status="ok", model_version=version, database=request.app.state.db.dialect)


_METRICS_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format"},
    401: ERROR_RESPONSES[401],
}


@router.get("/metrics", response_class=Response, responses=_METRICS_RESPONSES)
async def metrics(metrics: MetricsDep, user: CurrentUser) -> Response:
    """Prometheus metrics (any authenticated user; give the scraper its own token)."""
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
