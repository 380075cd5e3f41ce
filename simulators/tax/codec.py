"""XML <-> domain for the tax simulator's operations. Input has already passed XSD validation, so
parsing here can trust types and cardinalities."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from lxml import etree

from simulators.common.clock import SHANGHAI
from simulators.tax.model import (
    Application,
    Case,
    DeclarationLine,
    InvoiceLine,
    Reason,
    StageEvent,
)
from simulators.tax.soap import TNS


def q(name: str) -> str:
    return f"{{{TNS}}}{name}"


def _text(parent: etree._Element, name: str) -> str | None:
    node = parent.find(q(name))
    return None if node is None or node.text is None else node.text.strip()


def _req(parent: etree._Element, name: str) -> str:
    value = _text(parent, name)
    if value is None:
        raise ValueError(f"{name} missing after schema validation")
    return value


def _bool(value: str) -> bool:
    return value in ("true", "1")


def _datetime(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=SHANGHAI)


def parse_application(op: etree._Element) -> Application:
    declarations = tuple(
        DeclarationLine(
            entry_id=_req(d, "entryId"),
            fob_amount_cny=Decimal(_req(d, "fobAmountCny")),
            refund_amount_cny=Decimal(_req(d, "refundAmountCny")),
            export_date=date.fromisoformat(v) if (v := _text(d, "exportDate")) else None,
        )
        for d in op.iterfind(f"{q('declarations')}/{q('declaration')}")
    )
    invoices = tuple(
        InvoiceLine(_req(i, "invoiceNo"), Decimal(_req(i, "amount")), Decimal(_req(i, "taxAmount")))
        for i in op.iterfind(f"{q('invoices')}/{q('invoice')}")
    )
    return Application(
        application_no=_req(op, "applicationNo"),
        exporter_uscc=_req(op, "exporterUscc"),
        enterprise_class=int(_req(op, "enterpriseClass")),
        ftz=_bool(_req(op, "ftz")),
        reputable=_bool(_req(op, "reputable")),
        declarations=declarations,
        invoices=invoices,
        fx_receipt_proof=_text(op, "fxReceiptProof"),
        filed_at=_datetime(_req(op, "filedAt")),
    )


def _sub(parent: etree._Element, name: str, value: Any) -> etree._Element:
    node = etree.SubElement(parent, q(name))
    if value is not None:
        node.text = value if isinstance(value, str) else _lexical(value)
    return node


def _lexical(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _reasons(parent: etree._Element, reasons: tuple[Reason, ...]) -> None:
    node = _sub(parent, "reasons", None)
    for reason in reasons:
        item = _sub(node, "reason", None)
        _sub(item, "code", reason.code)
        _sub(item, "message", reason.message)
        if reason.reference:
            _sub(item, "reference", reason.reference)


def _event(parent: etree._Element, event: StageEvent, name: str = "event") -> etree._Element:
    node = _sub(parent, name, None) if parent is not None else etree.Element(q(name), nsmap={None: TNS})
    _fill_event(node, event)
    return node


def _fill_event(node: etree._Element, event: StageEvent) -> None:
    _sub(node, "seq", event.seq)
    _sub(node, "eventId", event.event_id)
    _sub(node, "applicationNo", event.application_no)
    _sub(node, "taxCaseNo", event.tax_case_no)
    _sub(node, "eventType", event.event_type.value)
    _sub(node, "stage", event.stage.value)
    _sub(node, "occurredAt", event.occurred_at)
    if event.reasons:
        _reasons(node, event.reasons)
    if event.refund_amount_cny is not None:
        _sub(node, "refundAmountCny", f"{event.refund_amount_cny:.2f}")
    if event.payment_order_no:
        _sub(node, "paymentOrderNo", event.payment_order_no)


def submit_response(case: Case, replayed: bool) -> etree._Element:
    root = etree.Element(q("SubmitRefundApplicationResponse"), nsmap={None: TNS})
    _sub(root, "applicationNo", case.application.application_no)
    _sub(root, "taxCaseNo", case.tax_case_no)
    _sub(root, "outcome", case.outcome.value)
    _sub(root, "receivedAt", case.received_at)
    _sub(root, "replayed", replayed)
    _reasons(root, case.reasons)
    return root


def status_response(case: Case) -> etree._Element:
    root = etree.Element(q("GetRefundStatusResponse"), nsmap={None: TNS})
    _sub(root, "applicationNo", case.application.application_no)
    _sub(root, "taxCaseNo", case.tax_case_no)
    _sub(root, "enterpriseClass", case.application.enterprise_class)
    _sub(root, "currentStage", case.current_stage.value)
    _sub(root, "state", case.state.value)
    _sub(root, "refundAmountCny", f"{case.application.refund_total:.2f}")
    if case.next_due:
        _sub(root, "nextStageDueAt", case.next_due)
    if case.payment_order_no:
        _sub(root, "paymentOrderNo", case.payment_order_no)
    history = _sub(root, "history", None)
    for event in case.history:
        _event(history, event)
    return root


def events_response(events: list[StageEvent], next_cursor: int, more: bool) -> etree._Element:
    root = etree.Element(q("GetStageEventsResponse"), nsmap={None: TNS})
    container = _sub(root, "events", None)
    for event in events:
        _event(container, event)
    _sub(root, "nextCursor", next_cursor)
    _sub(root, "more", more)
    return root


def encode_push(event: Mapping[str, Any], fmt: str) -> tuple[bytes, str]:
    """Body + content type of one pushed stage event: JSON (default) or XML StageEventNotification."""
    if fmt == "json":
        return json.dumps(dict(event), ensure_ascii=False).encode(), "application/json"
    root = etree.Element(q("StageEventNotification"), nsmap={None: TNS})
    for name in ("seq", "eventId", "applicationNo", "taxCaseNo", "eventType", "stage", "occurredAt"):
        _sub(root, name, str(event[name]))
    if event.get("reasons"):
        _reasons(root, tuple(Reason(r["code"], r["message"], r.get("reference")) for r in event["reasons"]))
    for name in ("refundAmountCny", "paymentOrderNo"):
        if event.get(name) is not None:
            _sub(root, name, str(event[name]))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8"), "application/xml"
