"""Dead letters for operators: list them with their reasons, replay one or discard one (audited)."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy import select

from hub.api import openapi_docs as docs
from hub.api.auth import get_hub, require_roles
from hub.api.errors import ApiError
from hub.db.models import DeadLetter
from hub.runtime import Hub
from hub.services import deadletters
from hub.services.parties import Principal

router = APIRouter(prefix="/api/v1/dead-letters", tags=["dead letters"])
OPERATORS = ("admin", "customs")


class DeadLetterOut(BaseModel):
    id: str
    message_id: str | None
    original_exchange: str
    original_routing_key: str
    original_queue: str
    reason: str
    attempts: int
    content_type: str
    correlation_id: str | None
    dead_at: datetime
    status: str
    replayed_at: datetime | None
    replayed_by: str | None
    replay_count: int
    body_base64: str

    @classmethod
    def of(cls, row: DeadLetter) -> DeadLetterOut:
        data = {k: getattr(row, k) for k in cls.model_fields if hasattr(DeadLetter, k)}
        return cls(
            **data, message_id=row.headers.get("message_id"), body_base64=base64.b64encode(row.body).decode()
        )


@router.get("", response_model=list[DeadLetterOut], summary="Dead-lettered messages with their reasons")
def list_dead_letters(
    status: str | None = Query("dead", description="dead, replayed, discarded or all"),
    queue: str | None = None,
    limit: int = Query(100, ge=1, le=1000),
    _: Principal = Depends(require_roles(*OPERATORS)),
    hub: Hub = Depends(get_hub),
) -> Any:
    """Messages a consumer gave up on after the delivery limit (or refused outright), newest first, with
    the queue they died in and the exception that killed them (admin, customs)."""
    query = select(DeadLetter).order_by(DeadLetter.dead_at.desc()).limit(limit)
    if status and status != "all":
        query = query.where(DeadLetter.status == status)
    if queue:
        query = query.where(DeadLetter.original_queue == queue)
    with hub.db.sessions() as session:
        return [DeadLetterOut.of(row) for row in session.scalars(query)]


@router.get(
    "/{dead_letter_id}",
    response_model=DeadLetterOut,
    summary="One dead letter",
    responses=docs.errors(403, 404),
)
def get_dead_letter(
    dead_letter_id: str, _: Principal = Depends(require_roles(*OPERATORS)), hub: Hub = Depends(get_hub)
) -> Any:
    """One dead letter: where it came from, the reason, attempts, replay history and its body in
    base64 (admin, customs)."""
    with hub.db.sessions() as session:
        row = session.get(DeadLetter, dead_letter_id)
    if row is None:
        raise ApiError(404, f"dead letter {dead_letter_id} not found")
    return DeadLetterOut.of(row)


@router.post(
    "/{dead_letter_id}/replay",
    status_code=202,
    summary="Re-inject into the queue it died in",
    responses=docs.errors(403, 404, 409),
)
def replay_dead_letter(
    dead_letter_id: str,
    principal: Principal = Depends(require_roles(*OPERATORS)),
    hub: Hub = Depends(get_hub),
) -> Any:
    """Publish the dead letter again to the queue it died in and record who did it (audited). 409 when
    it is no longer `dead` (already replayed) or its queue is unknown (admin, customs)."""
    try:
        with hub.db.unit_of_work() as session:
            done = deadletters.replay(session, dead_letter_id, principal.uscc, hub.dead_letter_hooks)
    except LookupError:
        raise ApiError(404, f"dead letter {dead_letter_id} not found") from None
    except deadletters.ReplayRefused as exc:
        raise ApiError(409, str(exc)) from None
    return {"dead_letter_id": done.dead_letter_id, "queue": done.queue, "message_id": done.outbox_message_id}


class DiscardIn(BaseModel):
    reason: str = Field(min_length=3, max_length=500, description="why it is dropped (kept in the audit log)")


@router.post(
    "/{dead_letter_id}/discard",
    summary="Drop a dead letter for good, with a reason",
    responses=docs.errors(403, 404, 409, 422),
)
def discard_dead_letter(
    dead_letter_id: str,
    body: DiscardIn,
    principal: Principal = Depends(require_roles(*OPERATORS)),
    hub: Hub = Depends(get_hub),
) -> Any:
    """Mark the dead letter `discarded`: it is no longer listed as waiting, counted in
    `swhub_dead_letters` or replayable. Who and why are audited (`dead_letter.discard`). 409 when it
    is no longer `dead` (replayed or discarded already) (admin, customs)."""
    try:
        with hub.db.unit_of_work() as session:
            row = deadletters.discard(session, dead_letter_id, principal.uscc, body.reason)
            done = {"dead_letter_id": row.id, "status": row.status}
    except LookupError:
        raise ApiError(404, f"dead letter {dead_letter_id} not found") from None
    except deadletters.DiscardRefused as exc:
        raise ApiError(409, str(exc)) from None
    return done
