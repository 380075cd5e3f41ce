"""Liveness and readiness: is the database reachable, is the bus reachable."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from hub.api.auth import get_hub
from hub.runtime import Hub

router = APIRouter(tags=["health"])


@router.get("/health", summary="Database and bus reachability (public)")
def health(hub: Hub = Depends(get_hub)) -> JSONResponse:
    """Public, no key. 200 with `{"status": "ok", ...}` when the database and the bus answer, 503
    `degraded` naming the one that does not; also says which bus and database kind the hub runs on."""
    database = hub.db.ping()
    bus = hub.bus.ping()
    body = {
        "status": "ok" if database and bus else "degraded",
        "database": "ok" if database else "unreachable",
        "bus": "ok" if bus else "unreachable",
        "bus_kind": "rabbitmq" if hub.settings.amqp_url else "in-process",
        "database_kind": "sqlite" if hub.db.is_sqlite else "postgresql",
    }
    return JSONResponse(body, status_code=200 if body["status"] == "ok" else 503)
