"""Party profile: who am I; administrators list and register parties."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.api.auth import current_principal, get_hub, require_roles
from hub.api.errors import ApiError
from hub.db import audit
from hub.db.models import Party
from hub.runtime import Hub
from hub.services import api_keys
from hub.services.parties import BootstrapError, Principal, check_party, upsert_parties, uscc_problem

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
    """The profile of the party the X-API-Key belongs to: USCC, name, roles and attributes (terminal,
    assigned terminals, tax office level)."""
    with hub.db.sessions() as session:
        party = session.get(Party, principal.party_id)
        if party is None:
            raise ApiError(404, "party not found")
        return PartyOut.of(party)


@router.get("", response_model=list[PartyOut], summary="All parties (admin)")
def list_parties(_: Principal = Depends(require_roles("admin")), hub: Hub = Depends(get_hub)) -> Any:
    """Every registered party with its roles and attributes, ordered by USCC (admin only)."""
    with hub.db.sessions() as session:
        return [PartyOut.of(p) for p in session.scalars(select(Party).order_by(Party.uscc))]


@router.put("/{uscc}", response_model=PartyOut, summary="Register or update a party (admin)")
def put_party(
    uscc: str,
    body: PartyIn,
    principal: Principal = Depends(require_roles("admin")),
    hub: Hub = Depends(get_hub),
) -> Any:
    """Create the party or replace its name, roles and attributes (admin only). The USCC in the path
    must equal the body's and be a valid GB 32100-2015 code; removing a role takes effect on the next
    request of each of the party's keys. 422 lists every problem of the body."""
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


_ADMIN = require_roles("admin")


class KeyOut(BaseModel):
    prefix: str = Field(description="first characters of the key's SHA-256 (the key is never shown again)")
    label: str
    roles: list[str] = Field(description="roles the key is narrowed to; empty = every role of the party")
    revoked: bool
    created_at: datetime


class IssuedKeyOut(KeyOut):
    key: str = Field(description="the new API key, shown once: store it now")


class KeyIn(BaseModel):
    roles: list[str] = []
    label: str = Field(default="", max_length=100)


def _keys_call(hub: Hub, principal: Principal, action: str, uscc: str, fn: Callable[[Session], Any]) -> Any:
    problem = uscc_problem(uscc)
    if problem:
        raise ApiError(422, f"path uscc: {problem}")
    try:
        with hub.db.unit_of_work() as session:
            out = fn(session)
            audit.record(session, principal.uscc, action, "party", uscc, {})
            return out
    except api_keys.KeyError_ as exc:
        raise ApiError(exc.status, exc.message) from exc


def _out(info: api_keys.KeyInfo) -> KeyOut:
    return KeyOut(
        prefix=info.prefix,
        label=info.label,
        roles=info.roles,
        revoked=info.revoked,
        created_at=info.created_at,
    )


def _issued(issued: api_keys.IssuedKey) -> IssuedKeyOut:
    return IssuedKeyOut(key=issued.key, **_out(issued.info).model_dump())


@router.post("/{uscc}/keys", response_model=IssuedKeyOut, status_code=201, summary="Issue a key (admin)")
def issue_key(
    uscc: str, body: KeyIn, principal: Principal = Depends(_ADMIN), hub: Hub = Depends(get_hub)
) -> Any:
    """Issue a new API key for the party, optionally narrowed to some of its roles (admin only). The
    key is in the answer once; only its SHA-256 is stored."""
    return _keys_call(
        hub, principal, "key.issue", uscc, lambda s: _issued(api_keys.issue(s, uscc, body.roles, body.label))
    )


@router.get("/{uscc}/keys", response_model=list[KeyOut], summary="A party's keys, by prefix (admin)")
def list_keys(uscc: str, principal: Principal = Depends(_ADMIN), hub: Hub = Depends(get_hub)) -> Any:
    """The party's keys by prefix (first 12 hex characters of the key's hash), with label, roles and
    whether revoked; never the keys themselves (admin only)."""
    return _keys_call(
        hub, principal, "key.list", uscc, lambda s: [_out(k) for k in api_keys.list_keys(s, uscc)]
    )


@router.post(
    "/{uscc}/keys/{prefix}/rotate",
    response_model=IssuedKeyOut,
    status_code=201,
    summary="Replace a key by a new one with the same roles; the old one is revoked (admin)",
)
def rotate_key(
    uscc: str, prefix: str, principal: Principal = Depends(_ADMIN), hub: Hub = Depends(get_hub)
) -> Any:
    """Issue a new key with the same label and roles and revoke the old one at once (admin only). The
    new key is in the answer once."""
    return _keys_call(hub, principal, "key.rotate", uscc, lambda s: _issued(api_keys.rotate(s, uscc, prefix)))


@router.delete("/{uscc}/keys/{prefix}", response_model=KeyOut, summary="Revoke a key at once (admin)")
def revoke_key(
    uscc: str, prefix: str, principal: Principal = Depends(_ADMIN), hub: Hub = Depends(get_hub)
) -> Any:
    """Revoke the key at once: its next request gets 401 (admin only)."""
    return _keys_call(hub, principal, "key.revoke", uscc, lambda s: _out(api_keys.revoke(s, uscc, prefix)))
