"""Handlers of the manifest messages: the manifest (MT1101), the distribution application (MT6102)
and customs' receipt for either or for a site report (MT9999)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from hub.clock import now
from hub.db import audit
from hub.db.clearance_tables import ClrConsignment
from hub.services.clearance import answers, authority, outbound
from hub.services.clearance.domain.states import CONSIGNMENT_INITIAL
from hub.services.clearance.workflow import rows
from hub.services.clearance.workflow.aggregates import change_consignment
from hub.services.clearance.workflow.context import Context
from hub.services.clearance.workflow.parking import park, refuse_answer, unpark, unpark_key
from hub.services.clearance.workflow.release import set_due
from messages.models.manifest import Consignment, Manifest
from messages.models.receipts import ManifestResponse


def manifest(ctx: Context, sender: str, message: Manifest, message_id: str) -> None:
    """MT1101: each bill stored with its listed containers, forwarded to customs; what waited for
    the bill's manifest is applied, and its summary declarations get their due date."""
    session, stamp = ctx.session, now()
    entry = _entry_at(message)
    bills = [
        cons.bill_no
        for cons in message.declaration.consignments
        if _store_bill(session, sender, message, cons, message_id, entry, stamp)
    ]
    session.flush()
    if not bills:
        return
    outbound.to_customs(
        session, message.head.message_type, outbound.encoded(message), bills=bills, correlation_id=message_id
    )
    audit.record(session, sender, "manifest.received", "manifest", message_id, {"bills": bills})
    for bill in bills:
        unpark(ctx, bill)
        for summary in rows.summaries(session, bill):
            set_due(ctx, summary)


def _entry_at(message: Manifest) -> datetime | None:
    """When the conveyance enters (arrival, else actual, else the unloading location's date)."""
    decl, entry = message.declaration, None
    if decl.conveyance is not None:
        entry = rows.parse_stamp(decl.conveyance.arrival_date_time or decl.conveyance.actual_date_time)
    if entry is None and decl.unloading_location is not None:
        entry = rows.parse_stamp(decl.unloading_location.date_time)
    return entry


def _store_bill(
    session: Session,
    sender: str,
    message: Manifest,
    cons: Consignment,
    message_id: str,
    entry: datetime | None,
    stamp: datetime,
) -> bool:
    """The bill's row from the manifest; False when another sender's manifest owns the bill."""
    decl = message.declaration
    conveyance = decl.conveyance
    bill_no = cons.bill_no
    row = session.get(ClrConsignment, bill_no)
    if row is None:
        row = ClrConsignment(bill_no=bill_no, created_at=stamp, status=CONSIGNMENT_INITIAL.value)
        session.add(row)
    elif row.manifest_sender and row.manifest_sender != sender:
        # two first manifests accepted at once: the earlier applied one owns the bill
        audit.record(session, sender, "manifest.refused", "manifest", message_id, {"bill": bill_no})
        return False
    row.consignee_uscc = authority.manifest_consignee(cons) or row.consignee_uscc
    row.voyage_no = conveyance.journey_id if conveyance else ""
    row.vessel = conveyance.name if conveyance else ""
    row.terminal_code = decl.unloading_location.id if decl.unloading_location else ""
    row.manifest_sender, row.manifest_message_id = sender, message_id
    row.package_qty, row.gross_kg = cons.package_quantity, cons.gross_mass
    row.entry_at, row.updated_at = entry, stamp
    for box, (packages, gross) in rows.container_figures(cons).items():
        c = rows.container(session, bill_no, box)
        c.listed, c.manifest_packages, c.manifest_gross_kg = True, packages, gross
    return True


def distribution(ctx: Context, sender: str, message: Manifest, message_id: str) -> None:
    """分拨申请 (MT6102): record where the goods go; the destination site's arrival reports follow."""
    session = ctx.session
    site = message.declaration.destination_site
    bills = [c.bill_no for c in message.declaration.consignments]
    for bill in bills:
        row = session.get(ClrConsignment, bill)
        if row is None:
            park(session, bill, message_id, "MT6102", "distribution application before its manifest")
            continue
        change_consignment(row, lambda c: c.distribute(now()))
        row.destination_site = site.id if site else row.destination_site
    outbound.to_customs(session, "MT6102", outbound.encoded(message), bills=bills, correlation_id=message_id)
    audit.record(
        session,
        sender,
        "distribution.applied",
        "manifest",
        message_id,
        {"bills": bills, "destination": site.id if site else None},
    )
    for bill in bills:
        if session.get(ClrConsignment, bill) is not None:
            unpark_key(ctx, f"dist:{bill}")  # destination arrivals that came first


def manifest_receipt(ctx: Context, sender: str, receipt: ManifestResponse, message_id: str) -> None:
    """MT9999 from customs: forwarded to whoever sent the message it answers (the manifest's
    sender, or the terminal / tally company that sent an arrival or tally report)."""
    session = ctx.session
    if forwarded_id := answers.reply_to(session, message_id):
        try:
            answers.manifest_receipt_check(session, forwarded_id, receipt)
        except answers.AnswerMismatch as exc:
            refuse_answer(session, message_id, str(exc))
            return
    by_receiver: dict[str, list[str]] = {}
    answered = receipt.head.message_type
    origin = (
        answers.origin(session, forwarded_id) if forwarded_id and answered in authority.SITE_REPORTS else None
    )
    for c in receipt.consignments:
        if origin:
            receiver: str | None = origin
        elif answered in authority.SITE_REPORTS:
            receiver = authority.report_sender(session, answered, c.bill_no, receipt.head.receiver_id)
        else:
            row = session.get(ClrConsignment, c.bill_no)
            receiver = row.manifest_sender if row is not None else None
        if receiver:
            by_receiver.setdefault(receiver, []).append(c.bill_no)
    for receiver, bills in by_receiver.items():
        outbound.send_model(session, receiver, receipt, "MT9999", bills=bills, correlation_id=message_id)
