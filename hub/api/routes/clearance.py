"""Clearance API: message intake (any supported type), consignment timeline, declarations, parked
messages. `install(app, hub)` installs the ClearanceService on the hub (consumers, sweep)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from hub.api import openapi_docs as docs
from hub.api.auth import current_principal, get_hub, require_roles
from hub.api.body import read_capped
from hub.api.errors import ApiError
from hub.runtime import Hub
from hub.services.catalog import install_clearance
from hub.services.clearance import queries
from hub.services.clearance.service import ClearanceService
from hub.services.intake import IntakeRejected
from hub.services.parties import Principal

router = APIRouter(tags=["clearance"])


def install_service(hub: Hub) -> ClearanceService:
    """Kept for callers (bench) that run the workflow without the API: the service layer owns it."""
    return install_clearance(hub)


def install(app: FastAPI, hub: Hub) -> ClearanceService:
    service = install_service(hub)
    app.include_router(router)
    return service


def service_of(hub: Hub = Depends(get_hub)) -> ClearanceService:
    service = getattr(hub, "clearance", None)
    if service is None:
        raise ApiError(503, "clearance service not installed")
    return service


@router.post(
    "/api/v1/messages",
    status_code=202,
    summary="Submit any supported message (raw body)",
    openapi_extra=docs.MESSAGES,
    responses=docs.MESSAGE_ERRORS,
)
async def submit_message(
    request: Request,
    principal: Principal = Depends(current_principal),
    service: ClearanceService = Depends(service_of),
) -> JSONResponse:
    """Raw XML (MT1101, DecMessage, MT3101, MT5101, MT6102; customs: DEC_DATA, DecImportResponse,
    MT9999, InspectionNotice) or EDIFACT (converted). 202 + receipt; a duplicate gets 200 and the first
    receipt; a rejection lists every problem (archived too)."""
    raw = await read_capped(request, service.hub.settings.max_message_bytes)
    try:  # parsing, archiving and the workflow block: off the event loop, so /health stays quick
        # customs answers carry back the id of the hub message they answer (sent as X-Message-Id)
        in_reply_to = request.headers.get("X-Correlation-Id") or None
        result = await run_in_threadpool(service.receive, raw, principal, "http", in_reply_to)
    except IntakeRejected as exc:
        raise ApiError(
            exc.status,
            f"message {exc.message_id} rejected: {exc}",
            details=[p.as_json() for p in exc.problems],
            layers=exc.layers,
        ) from None
    return JSONResponse(result.as_json(), status_code=200 if result.duplicate else 202)


@router.get(
    "/api/v1/consignments/{bill_no}/timeline",
    summary="Every message in and out for a bill",
    responses=docs.errors(404),
)
def consignment_timeline(
    bill_no: str, principal: Principal = Depends(current_principal), hub: Hub = Depends(get_hub)
) -> Any:
    """One bill of lading: its manifest, each container's steps (arrived, tallied, inspected,
    released, gated out), discrepancies, and every message in and out with its status and a link to
    its raw bytes. Brokers see their own messages (and the containers while they have a declaration
    for the bill); port operators their terminal's bills. 404 when the caller may not see it."""
    with hub.db.sessions() as session:
        view = queries.timeline(session, principal, bill_no)
    if view is None:
        raise ApiError(404, f"consignment {bill_no} not found")
    return view


@router.get("/api/v1/declarations", summary="Declarations the caller may see")
def list_declarations(
    state: str | None = None,
    limit: int = Query(100, ge=1, le=1000),
    principal: Principal = Depends(current_principal),
    hub: Hub = Depends(get_hub),
) -> Any:
    """Declarations the caller filed (customs and admin: all), newest first, optionally of one state,
    each with its state, screening and deadlines."""
    with hub.db.sessions() as session:
        return queries.declarations(session, principal, state, limit)


@router.get(
    "/api/v1/declarations/{declaration_id}",
    summary="State, deadlines, screening with reasons",
    responses=docs.errors(404),
)
def get_declaration(
    declaration_id: str, principal: Principal = Depends(current_principal), hub: Hub = Depends(get_hub)
) -> Any:
    """One declaration: state, kind (summary or complete), EntryId, screening with every rule hit and
    its reason, deadlines, and while `submitted` what it waits for. 404 for one the caller may not see."""
    with hub.db.sessions() as session:
        row = queries.visible_declaration(session, principal, declaration_id)
        if row is None:  # same answer for absent and someone else's
            raise ApiError(404, f"declaration {declaration_id} not found")
        return queries.declaration_view(row, session)


@router.get("/api/v1/clearance/parked", summary="Messages waiting for their manifest")
def list_parked(
    include_resolved: bool = False,
    principal: Principal = Depends(current_principal),
    hub: Hub = Depends(get_hub),
) -> Any:
    """Messages that came before what they depend on (a report or declaration before its manifest, a
    customs answer before its declaration) and wait for it, with the reason and what they wait for:
    the caller's own (customs and admin: all). Resolved ones too with `include_resolved=true`."""
    with hub.db.sessions() as session:
        return queries.parked(session, principal, include_resolved)


@router.post("/api/v1/clearance/sweep", summary="Run the due-date sweep now (reminders, late marks)")
def run_sweep(
    _: Principal = Depends(require_roles("admin")), service: ClearanceService = Depends(service_of)
) -> Any:
    """Run the due-date sweep now instead of waiting for its interval: reminders before a complete
    declaration is due, overdue ones marked late (with a notice), reconciliation of consignments
    whose discharge grace period is over, parked customs answers expired (admin only)."""
    return service.sweep()
