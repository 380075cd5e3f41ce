"""Everything the clearance workflow sends: archived (direction `out`, for the timeline) and put in
the outbox in the same transaction. Notices to a party go to NOTICE_EXCHANGE `<uscc>.<type>`;
messages to customs go to NOTICE_EXCHANGE `customs.<type>`."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy.orm import Session

from hub.bus.base import NOTICE_EXCHANGE
from hub.db.clearance_tables import ClrConsignment
from hub.db.outbox import enqueue
from hub.observability import metrics
from hub.services import party_cache
from hub.services.clearance.settings import CUSTOMS_KEY
from hub.services.intake import archive
from messages import xml as xmlcodec

# The XML intake encoded for the model being applied (EDIFACT input), if any: forwarded as is.
_CARRIED: ContextVar[tuple[object, bytes] | None] = ContextVar("swhub_carried_xml", default=None)


@contextmanager
def carrying(model: object, xml: bytes | None) -> Iterator[None]:
    """While the workflow applies `model`, `encoded(model)` is `xml` (when given)."""
    token = _CARRIED.set((model, xml) if xml else None)
    try:
        yield
    finally:
        _CARRIED.reset(token)


def encoded(model: object) -> bytes:
    """The XML of a model the workflow forwards: the one intake already encoded for this very model
    (the workflow never changes a received model), else encoded now."""
    carried = _CARRIED.get()
    if carried is not None and carried[0] is model:
        return carried[1]
    return xmlcodec.encode(model)


def send(
    session: Session,
    receiver: str,
    notice_type: str,
    body: bytes,
    *,
    bills: list[str],
    correlation_id: str | None = None,
    content_type: str = "application/xml",
) -> str:
    """Archive and enqueue one outgoing message to `receiver` (a USCC, or `customs`)."""
    fmt = "xml" if content_type.endswith("xml") else "json"
    row = archive(
        session,
        body,
        direction="out",
        channel="amqp",
        sender="hub",
        receiver=receiver,
        message_type=notice_type,
        fmt=fmt,
        status="queued",  # the outbox relay makes it `sent` once the bus has it
        correlation_id=correlation_id,
        bills=bills,
    )
    enqueue(
        session,
        NOTICE_EXCHANGE,
        f"{receiver}.{notice_type}",
        body,
        message_id=row.id,
        content_type=content_type,
        correlation_id=correlation_id,
        headers={
            "x-swhub-notice-type": notice_type,
            "x-swhub-bills": ",".join(bills),
            **metrics.trigger_headers(),
        },
    )
    return row.id


def send_model(session: Session, receiver: str, model: object, notice_type: str, **kw: Any) -> str:
    return send(session, receiver, notice_type, xmlcodec.encode(model), **kw)


def send_json(session: Session, receiver: str, notice_type: str, body: dict[str, Any], **kw: Any) -> str:
    data = json.dumps(body, ensure_ascii=False, default=str).encode("utf-8")
    return send(session, receiver, notice_type, data, content_type="application/json", **kw)


def to_customs(session: Session, notice_type: str, body: bytes, **kw: Any) -> str:
    return send(session, CUSTOMS_KEY, notice_type, body, **kw)


def yard_operators(session: Session, consignment: ClrConsignment | None) -> list[str]:
    """Port operators of the consignment's terminal (Party.terminal_code = manifest UnloadingLocation)."""
    if consignment is None or not consignment.terminal_code:
        return []
    rows = party_cache.cache_for(session).at_terminal(session, consignment.terminal_code)
    return [p.uscc for p in rows if "port_operator" in (p.roles or [])]


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16].upper()}"
