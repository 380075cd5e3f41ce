"""Agency entrustments (代理报关委托): a consignee entrusts a broker to declare for it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy import select

from hub.api import openapi_docs as docs
from hub.api.auth import current_principal, get_hub
from hub.api.errors import ApiError
from hub.db import audit
from hub.db.models import Entrustment, Party
from hub.runtime import Hub
from hub.services import entrustments
from hub.services.parties import USCC_PATTERN, Principal

router = APIRouter(prefix="/api/v1/entrustments", tags=["entrustments"])


class EntrustmentIn(BaseModel):
    consignee: str = Field(min_length=18, max_length=18)
    broker: str = Field(min_length=18, max_length=18)


@router.post("", status_code=201, summary="Register an entrustment (the consignee itself, or admin)")
def create(
    body: EntrustmentIn, principal: Principal = Depends(current_principal), hub: Hub = Depends(get_hub)
) -> Any:
    """Record that a consignee entrusted a broker to declare for it (代理报关委托). Only the
    consignee itself or an administrator may; the broker must be a registered broker. A broker's
    declaration naming a consignee that did not entrust it is refused (`not_entrusted`)."""
    if not principal.has("admin") and principal.uscc != body.consignee:
        raise ApiError(403, "only the consignee itself (or an administrator) may entrust a broker")
    details = [
        f"{name}: {value!r} is not an 18-character USCC"
        for name, value in (("consignee", body.consignee), ("broker", body.broker))
        if not USCC_PATTERN.match(value)
    ]
    if details:
        raise ApiError(422, "entrustment is not valid", details=details)
    with hub.db.unit_of_work() as session:
        broker = session.scalar(select(Party).where(Party.uscc == body.broker))
        if broker is None or "broker" not in (broker.roles or []):
            raise ApiError(
                422, "entrustment is not valid", details=[f"broker: {body.broker} is no registered broker"]
            )
        row = entrustments.register(session, body.consignee, body.broker, principal.uscc)
        audit.record(
            session,
            principal.uscc,
            "entrustment.create",
            "entrustment",
            str(row.id),
            {"consignee": body.consignee, "broker": body.broker},
        )
        return entrustments.as_json(row)


@router.get("", summary="Entrustments the caller is consignee or broker of (admin: all)")
def listing(principal: Principal = Depends(current_principal), hub: Hub = Depends(get_hub)) -> Any:
    """Entrustments where the caller is the consignee or the broker (an administrator sees all)."""
    with hub.db.sessions() as session:
        party = None if principal.has("admin") else principal.uscc
        return [entrustments.as_json(r) for r in entrustments.listing(session, party)]


@router.delete(
    "/{entrustment_id}",
    status_code=204,
    summary="Withdraw an entrustment (consignee or admin)",
    responses=docs.errors(403, 404),
)
def withdraw(
    entrustment_id: int, principal: Principal = Depends(current_principal), hub: Hub = Depends(get_hub)
) -> None:
    """Withdraw an entrustment: the broker's next declarations for that consignee are refused. Only
    the consignee or an administrator may; 404 when the caller is neither party to it."""
    with hub.db.unit_of_work() as session:
        row = session.get(Entrustment, entrustment_id)
        visible = row is not None and (
            principal.has("admin") or principal.uscc in (row.consignee_uscc, row.broker_uscc)
        )
        if row is None or not visible:
            raise ApiError(404, f"no entrustment {entrustment_id}")
        if not principal.has("admin") and principal.uscc != row.consignee_uscc:
            raise ApiError(403, "only the consignee (or an administrator) may withdraw an entrustment")
        audit.record(session, principal.uscc, "entrustment.delete", "entrustment", str(row.id), {})
        session.delete(row)
