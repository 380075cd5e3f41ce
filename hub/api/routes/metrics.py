"""GET /metrics: Prometheus exposition of this process and of the shared database state."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from fastapi.security import APIKeyHeader

from hub.api.auth import API_KEY_HEADER, get_hub
from hub.api.errors import ApiError
from hub.observability.exposition import CONTENT_TYPE, bearer_ok, render
from hub.runtime import Hub
from hub.services.parties import authenticate

router = APIRouter(tags=["operations"])
_key = APIKeyHeader(name=API_KEY_HEADER, auto_error=False, description="an admin's API key")


@router.get(
    "/metrics",
    summary="Prometheus metrics (scrape token or admin key)",
    description="Per-stage latency histograms (intake, workflow, relay), end-to-end latency from "
    "acceptance to notice, batch sizes, outbox lag, parked inputs, dead letters and the queues this "
    "process consumes. Authenticate with `Authorization: Bearer <HUB_METRICS_TOKEN>` or an admin's "
    "X-API-Key.",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE: {}}}, 401: {"description": "no valid token or admin key"}},
)
def metrics(request: Request, key: str | None = Depends(_key), hub: Hub = Depends(get_hub)) -> Response:
    if not bearer_ok(request.headers.get("authorization"), hub.settings.metrics_token):
        if not key:
            raise ApiError(401, "send Authorization: Bearer <HUB_METRICS_TOKEN> or an admin's X-API-Key")
        with hub.db.sessions() as session:
            principal = authenticate(session, key)
        if principal is None:
            raise ApiError(401, "unknown or revoked API key")
        if not principal.has("admin"):
            raise ApiError(403, "metrics are for operators: requires the admin role")
    return Response(render(hub.db), media_type=CONTENT_TYPE)
