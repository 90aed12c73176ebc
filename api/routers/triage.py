"""``POST /api/v1/triage``: the live routing hint for the hotline operator; nothing is stored."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from api import access
from api.deps import BatcherDep, CurrentUser, DatabaseDep, MetricsDep
from api.schemas import ERROR_RESPONSES, TriageRequest, TriageResponse
from api.views import EngineJSONResponse, suggestion_payload

router = APIRouter(prefix="/api/v1", tags=["triage"])


@router.post("/triage", response_model=TriageResponse, responses=ERROR_RESPONSES)
async def triage(
    body: TriageRequest, batcher: BatcherDep, metrics: MetricsDep, user: CurrentUser, db: DatabaseDep
) -> EngineJSONResponse:
    """Suggest category, department, level, deadline and likely duplicates for a message.

    Duplicates are only cases the caller may open (a grid worker's grids, a department's own).
    """
    result = await batcher.triage(body.text)
    metrics.suggestions.labels(str(result.needs_review).lower()).inc()
    payload = suggestion_payload(result)
    if payload["duplicates"] and not access.unrestricted(user):
        numbers = [d["case_id"] for d in payload["duplicates"]]
        visible = await run_in_threadpool(access.scope_filter, db, user, numbers)
        payload["duplicates"] = [d for d in payload["duplicates"] if visible(d["case_id"])]
    return EngineJSONResponse(payload)
