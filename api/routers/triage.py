"""``POST /api/v1/triage``: the live routing hint for the hotline operator; nothing is stored."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from api import access
from api.actions import cases
from api.deps import BatcherDep, CurrentUser, MetricsDep, ServiceDep
from api.schemas import ERROR_RESPONSES, TriageRequest, TriageResponse
from api.views import EngineJSONResponse, suggestion_payload

router = APIRouter(prefix="/api/v1", tags=["triage"])


@router.post("/triage", response_model=TriageResponse, responses=ERROR_RESPONSES)
async def triage(
    body: TriageRequest,
    batcher: BatcherDep,
    metrics: MetricsDep,
    user: CurrentUser,
    service: ServiceDep,
) -> EngineJSONResponse:
    """Suggest category, department, level, deadline and likely duplicates for a message.

    Location fields (district, street, community, address, grid) let a city's department model
    pick the responsible district's unit.

    Duplicates are only cases the caller may open (a grid worker's grids, a department's own).
    """
    located = body.model_dump(include={"district", "street", "community", "address"}, exclude_none=True)
    if body.grid:
        located["grid_code"] = body.grid
    result = await cases.suggest(service, batcher, body.text, located)
    metrics.suggestions.labels(str(result.needs_review).lower()).inc()
    payload = suggestion_payload(result)
    if payload["duplicates"] and not access.unrestricted(user):
        numbers = [d["case_id"] for d in payload["duplicates"]]
        visible = await run_in_threadpool(cases.visibility, service, user, numbers)
        payload["duplicates"] = [d for d in payload["duplicates"] if visible(d["case_id"])]
    return EngineJSONResponse(payload)
