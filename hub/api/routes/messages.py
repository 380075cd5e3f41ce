"""The message archive, filtered to what the caller may see."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel
from sqlalchemy import ColumnElement, or_, select

from hub.api import openapi_docs as docs
from hub.api.auth import current_principal, get_hub
from hub.api.errors import ApiError
from hub.db.models import Message
from hub.runtime import Hub
from hub.services.parties import Principal

router = APIRouter(prefix="/api/v1/messages", tags=["messages"])

# Authorities see every message; everyone else only messages they sent or received.
SEES_ALL = ("admin", "customs")


def visible_to(principal: Principal) -> ColumnElement[bool] | None:
    if principal.has(*SEES_ALL):
        return None
    return or_(Message.sender == principal.uscc, Message.receiver == principal.uscc)


class MessageOut(BaseModel):
    id: str
    direction: str
    channel: str
    format: str
    message_type: str
    external_id: str | None
    sender: str | None
    receiver: str | None
    sha256: str
    size: int
    status: str
    error: str | None
    correlation_id: str | None
    bill_no: str | None
    container_no: str | None
    client_seq_no: str | None
    entry_id: str | None
    received_at: datetime
    raw_url: str

    @classmethod
    def of(cls, m: Message) -> MessageOut:
        data = {k: getattr(m, k) for k in cls.model_fields if k != "raw_url"}
        return cls(**data, raw_url=f"/api/v1/messages/{m.id}/raw")


@router.get("", response_model=list[MessageOut], summary="Messages the caller sent or received")
def list_messages(
    bill_no: str | None = None,
    message_type: str | None = None,
    limit: int = Query(100, ge=1, le=1000),
    principal: Principal = Depends(current_principal),
    hub: Hub = Depends(get_hub),
) -> Any:
    """The raw message archive: messages the caller sent or that were sent to it, newest first,
    filtered by bill of lading and message type. Each has its status (`processed`, `rejected`,
    `queued`, `sent`, ...) and a link to its raw bytes."""
    query = select(Message).order_by(Message.received_at.desc()).limit(limit)
    scope = visible_to(principal)
    if scope is not None:
        query = query.where(scope)
    if bill_no:
        query = query.where(Message.bill_no == bill_no)
    if message_type:
        query = query.where(Message.message_type == message_type)
    with hub.db.sessions() as session:
        return [MessageOut.of(m) for m in session.scalars(query)]


def _get_visible(hub: Hub, principal: Principal, message_id: str) -> Message:
    query = select(Message).where(Message.id == message_id)
    scope = visible_to(principal)
    if scope is not None:
        query = query.where(scope)
    with hub.db.sessions() as session:
        message = session.scalar(query)
    if message is None:
        # Same answer for "absent" and "someone else's": existence is not leaked.
        raise ApiError(404, f"message {message_id} not found")
    return message


@router.get(
    "/{message_id}", response_model=MessageOut, summary="One archived message", responses=docs.errors(404)
)
def get_message(
    message_id: str, principal: Principal = Depends(current_principal), hub: Hub = Depends(get_hub)
) -> Any:
    """One archived message the caller sent or received; 404 for another party's (existence is not
    leaked)."""
    return MessageOut.of(_get_visible(hub, principal, message_id))


@router.get(
    "/{message_id}/raw", summary="The raw bytes exactly as received or sent", responses=docs.errors(404)
)
def get_raw(
    message_id: str, principal: Principal = Depends(current_principal), hub: Hub = Depends(get_hub)
) -> Response:
    """The message's bytes exactly as received or sent, with its media type (XML, EDIFACT or JSON)."""
    message = _get_visible(hub, principal, message_id)
    media = {"xml": "application/xml", "edifact": "application/edifact", "json": "application/json"}
    return Response(message.raw, media_type=media.get(message.format, "application/octet-stream"))
