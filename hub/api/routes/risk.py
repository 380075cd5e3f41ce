"""Risk screening for customs officers: the active rule set, and screening a declaration on demand."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from hub.api import openapi_docs as docs
from hub.api.auth import get_hub, require_roles
from hub.api.body import read_capped
from hub.api.errors import ApiError
from hub.runtime import Hub
from hub.services.parties import Principal
from hub.services.screening import engine_for, trader_profile
from messages.decode import decode_models
from messages.errors import MessageError, ValidationFailed
from messages.models.declaration import Declaration
from risk import CreditClass, RiskError, ScreeningContext

router = APIRouter(prefix="/api/v1/risk", tags=["risk"])


@router.get("/rules", summary="The active rule set: version, rules with reasons, sampling rates")
def rules(_: Principal = Depends(require_roles("customs")), hub: Hub = Depends(get_hub)) -> Any:
    """The two-stage admission rule set in force: its version, every rule with its reason and action,
    the credit-class adjustments and sampling rates (customs only)."""
    return engine_for(hub).ruleset.describe()


@router.post(
    "/screen",
    summary="Screen a declaration (DecMessage XML or EDIFACT CUSDEC body) at stage 1 or 2",
    openapi_extra=docs.SCREEN,
    responses=docs.RAW_ERRORS,
)
async def screen(
    request: Request,
    stage: int = Query(1, ge=1, le=2),
    credit: CreditClass | None = Query(None, description="Override the trader's credit class"),
    seed: int | None = Query(None, description="Sampling seed (default: the rule set's)"),
    _: Principal = Depends(require_roles("customs")),
    hub: Hub = Depends(get_hub),
) -> Any:
    """Run the two-stage admission screening on a declaration without filing it: stage 1 (准入, at
    arrival) or 2 (合格入市), with the trader's credit class (or `credit`) and a sampling `seed`. The
    decision lists every rule hit with its reason, the credit adjustment and the draw (customs only)."""
    body = await read_capped(request, hub.settings.max_message_bytes, "declaration")
    # decoding and screening are CPU work: off the event loop so other clients are not held up
    return await run_in_threadpool(_screen, hub, body, stage, credit, seed)


def _screen(hub: Hub, body: bytes, stage: int, credit: CreditClass | None, seed: int | None) -> Any:
    try:
        models = decode_models(body, max_bytes=hub.settings.max_message_bytes)
    except ValidationFailed as exc:
        details = [{"location": i.location, "message": i.message, "line": i.line} for i in exc.issues]
        raise ApiError(422, "declaration is not valid", details=details) from None
    except MessageError as exc:
        raise ApiError(400, str(exc)) from None
    declarations = [m for m in models if isinstance(m, Declaration)]
    if not declarations:
        raise ApiError(422, "the body is not a declaration (DecMessage or CUSDEC)")
    declaration = declarations[0]
    with hub.db.sessions() as session:
        trader = trader_profile(session, declaration)
    if credit is not None:
        trader = replace(trader, credit_class=credit)
    try:
        decision = engine_for(hub).screen(declaration, ScreeningContext(trader=trader), stage, seed=seed)
    except RiskError as exc:
        raise ApiError(422, str(exc)) from None
    return decision.to_dict()
