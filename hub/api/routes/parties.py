"""Party profile: who am I; administrators list and register parties."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy import select

from hub.api.auth import current_principal, get_hub, require_roles
from hub.api.errors import ApiError
from hub.db import audit
from hub.db.models import Party
from hub.runtime import Hub
from hub.services.parties import BootstrapError, Principal, check_party, upsert_parties

router = APIRouter(prefix="/api/v1/parties", tags=["parties"])


class PartyOut(BaseModel):
    uscc: str
    name: str
    roles: list[str]
    customs_code: str | None
    credit_class: str
    aeo_mra_country: str | None
    refund_class: int | None
    ftz: bool
    reputable: bool
    terminal_code: str | None
    terminals: list[str] | None = None
    tax_office_level: str | None

    @classmethod
    def of(cls, p: Party) -> PartyOut:
        return cls.model_validate(p, from_attributes=True)


class PartyIn(BaseModel):
    uscc: str = Field(min_length=18, max_length=18)
    name: str = Field(min_length=1, max_length=200)
    roles: list[str] = []
    customs_code: str | None = None
    credit_class: str = "general"
    aeo_mra_country: str | None = None
    refund_class: int | None = None
    ftz: bool = False
    reputable: bool = False
    terminal_code: str | None = None
    terminals: list[str] | None = None  # a tally company's assigned terminals
    tax_office_level: str | None = None


@router.get("/me", response_model=PartyOut, summary="The calling party's own profile")
def me(principal: Principal = Depends(current_principal), hub: Hub = Depends(get_hub)) -> Any:
    with hub.db.sessions() as session:
        party = session.get(Party, principal.party_id)
        if party is None:
            raise ApiError(404, "party not found")
        return PartyOut.of(party)


@router.get("", response_model=list[PartyOut], summary="All parties (admin)")
def list_parties(_: Principal = Depends(require_roles("admin")), hub: Hub = Depends(get_hub)) -> Any:
    with hub.db.sessions() as session:
        return [PartyOut.of(p) for p in session.scalars(select(Party).order_by(Party.uscc))]


@router.put("/{uscc}", response_model=PartyOut, summary="Register or update a party (admin)")
def put_party(
    uscc: str,
    body: PartyIn,
    principal: Principal = Depends(require_roles("admin")),
    hub: Hub = Depends(get_hub),
) -> Any:
    if body.uscc != uscc:
        raise ApiError(422, "uscc in the path and the body differ")
    data = body.model_dump()
    problems = check_party(0, data)
    if problems:
        raise ApiError(422, "party is not valid", details=[p.replace("parties[0].", "") for p in problems])
    try:
        with hub.db.unit_of_work() as session:
            upsert_parties(session, [data])
            audit.record(session, principal.uscc, "party.upsert", "party", uscc, {"roles": body.roles})
            party = session.scalar(select(Party).where(Party.uscc == uscc))
            assert party is not None
            out = PartyOut.of(party)
    except BootstrapError as exc:
        raise ApiError(422, "party is not valid", details=exc.problems) from exc
    hub.parties_changed()
    return out
