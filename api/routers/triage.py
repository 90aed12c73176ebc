"""``POST /api/v1/triage``: the live routing hint for the hotline operator; nothing is stored."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import BatcherDep, CurrentUser, MetricsDep
from api.schemas import ERROR_RESPONSES, TriageRequest, TriageResponse
from api.views import EngineJSONResponse, suggestion_payload

router = APIRouter(prefix="/api/v1", tags=["triage"])


@router.post("/triage", response_model=TriageResponse, responses=ERROR_RESPONSES)
async def triage(
    body: TriageRequest, batcher: BatcherDep, metrics: MetricsDep, user: CurrentUser
) -> EngineJSONResponse:
    """Suggest category, department, level, deadline and likely duplicates for a message."""
    result = await batcher.triage(body.text)
    metrics.suggestions.labels(str(result.needs_review).lower()).inc()
    return EngineJSONResponse(suggestion_payload(result))
