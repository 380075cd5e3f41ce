"""Stage events in the shapes the tax service produces them: zeep objects (pull) and pushed
callbacks (JSON or XML StageEventNotification). The hub's callback endpoint calls parse_stage_event."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from lxml import etree

from adapters.tax.errors import TaxProtocolError
from adapters.tax.models import EventType, Reason, Stage, StageEvent

TNS = "urn:swhub:sim:taxrefund:v1"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def as_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def as_decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def reasons_from(value: Any) -> tuple[Reason, ...]:
    """Accepts None, a list of reason mappings, or zeep's {'reason': [...]} wrapper."""
    if not value:
        return ()
    items = value.get("reason") if isinstance(value, Mapping) else value
    return tuple(Reason(str(r["code"]), str(r["message"]), r.get("reference")) for r in items or ())


def event_from_mapping(data: Mapping[str, Any]) -> StageEvent:
    try:
        return StageEvent(
            seq=int(data["seq"]),
            event_id=str(data["eventId"]),
            application_no=str(data["applicationNo"]),
            tax_case_no=str(data["taxCaseNo"]),
            event_type=EventType(data["eventType"]),
            stage=Stage(data["stage"]),
            occurred_at=as_datetime(data["occurredAt"]),
            reasons=reasons_from(data.get("reasons")),
            refund_amount_cny=as_decimal(data.get("refundAmountCny")),
            payment_order_no=data.get("paymentOrderNo"),
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise TaxProtocolError(f"malformed stage event: {exc!r}") from exc


def _xml_to_mapping(body: bytes) -> dict[str, Any]:
    if b"<!DOCTYPE" in body.upper():
        raise TaxProtocolError("DOCTYPE not allowed in stage event XML")
    try:
        root = etree.fromstring(body, parser=_PARSER)
    except etree.XMLSyntaxError as exc:
        raise TaxProtocolError(f"stage event XML not well-formed: {exc}") from exc
    if root.tag != f"{{{TNS}}}StageEventNotification":
        raise TaxProtocolError(f"expected StageEventNotification, got {root.tag}")
    data: dict[str, Any] = {etree.QName(c).localname: c.text for c in root if c.tag != f"{{{TNS}}}reasons"}
    reasons = root.find(f"{{{TNS}}}reasons")
    if reasons is not None:
        data["reasons"] = [{etree.QName(f).localname: f.text for f in r} for r in reasons]
    return data


def parse_stage_event(
    payload: bytes | str | Mapping[str, Any], content_type: str = "application/json"
) -> StageEvent:
    """Parse one pushed stage event (JSON object or XML StageEventNotification) into a StageEvent."""
    if isinstance(payload, Mapping):
        return event_from_mapping(payload)
    body = payload.encode() if isinstance(payload, str) else payload
    if "xml" in content_type.lower() or body.lstrip().startswith(b"<"):
        return event_from_mapping(_xml_to_mapping(body))
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise TaxProtocolError(f"stage event JSON not parseable: {exc}") from exc
    if not isinstance(data, Mapping):
        raise TaxProtocolError("stage event JSON must be an object")
    return event_from_mapping(data)
