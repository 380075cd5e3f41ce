"""Handlers of the per-container reports from port operators and tally companies: arrival (运抵,
MT3101), tally (理货, MT5101) and gate-out. Reports before their bill's manifest are parked."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from hub.clock import now
from hub.db import audit
from hub.db.clearance_tables import ClrConsignment, ClrContainer
from hub.services.clearance import outbound, repository
from hub.services.clearance.domain import events
from hub.services.clearance.settings import CUSTOMS_KEY
from hub.services.clearance.workflow import rows
from hub.services.clearance.workflow.aggregates import publish
from hub.services.clearance.workflow.context import Context
from hub.services.clearance.workflow.discrepancies import reconcile_tally, report
from hub.services.clearance.workflow.parking import park
from hub.services.clearance.workflow.release import set_due, try_release
from messages.models.gate import GateOut, GateOutReport
from messages.models.manifest import Manifest

log = logging.getLogger(__name__)


def arrival(ctx: Context, sender: str, message: Manifest, message_id: str) -> None:
    """MT3101: the boxes arrived at the site; the bill's due date starts with its first arrival; the
    report goes on to customs; the summary declarations are released if nothing blocks them."""
    session = ctx.session
    decl = message.declaration
    site = decl.unloading_location.id if decl.unloading_location else ""
    boxes, applied = rows.boxes(message), []
    for bill, containers in boxes.items():
        consignment = _manifested(session, bill, message_id, "MT3101")
        if consignment is None:
            continue
        if not arrival_site_ok(consignment, site):
            park(
                session,
                bill,
                message_id,
                "MT3101",
                f"arrival report for bill {bill} from site {site}, which is neither its terminal "
                f"{consignment.terminal_code} nor the destination of a distribution application "
                "(MT6102): it does not count; parked until an MT6102 names that site",
                wait_key=f"dist:{bill}",
            )
            continue
        applied.append(bill)
        _arrive(ctx, consignment, [box for box, _ in containers], site, sender)
    if applied:  # a parked report reaches customs when it is applied
        outbound.to_customs(
            session, "MT3101", outbound.encoded(message), bills=applied, correlation_id=message_id
        )
    for bill in boxes:
        for summary in rows.summaries(session, bill):
            try_release(session, summary)


def _arrive(ctx: Context, consignment: ClrConsignment, reported: list[str], site: str, sender: str) -> None:
    session, bill = ctx.session, consignment.bill_no
    loaded = {box: rows.container(session, bill, box) for box in reported}
    cons = repository.consignment(consignment, loaded.values())
    arrived = cons.arrive(loaded, now())
    repository.save_consignment(consignment, cons, loaded.values())
    publish(session, cons.pull_events())
    for box in arrived:
        loaded[box].arrival_site, loaded[box].arrival_sender = site, sender
    for box in reported:
        if not loaded[box].listed:
            detail = {"container": box, "reported_by": "arrival", "site": site}
            report(session, consignment, "unlisted_container", detail)
    if consignment.first_arrival_at is None:
        consignment.first_arrival_at = now()
        for summary in rows.summaries(session, bill):
            set_due(ctx, summary)
    consignment.updated_at = now()


def _manifested(session: Session, bill: str, message_id: str, message_type: str) -> ClrConsignment | None:
    """The bill's consignment; a report before its manifest is parked and applied when it arrives."""
    consignment = session.get(ClrConsignment, bill)
    if consignment is None:
        what = {"MT3101": "arrival", "MT5101": "tally"}[message_type]
        park(
            session,
            bill,
            message_id,
            message_type,
            f"{what} report for bill {bill} before its manifest: parked, applied when the manifest arrives",
        )
    return consignment


def arrival_site_ok(consignment: ClrConsignment, site: str) -> bool:
    """Arrivals count from the manifest's terminal, or from the destination site of the bill's
    distribution application (分拨, MT6102). Without a site or a terminal there is nothing to check."""
    if not site or not consignment.terminal_code or site == consignment.terminal_code:
        return True
    return bool(consignment.destination_site) and site == consignment.destination_site


def tally(ctx: Context, sender: str, message: Manifest, message_id: str) -> None:
    """MT5101: per box the tallied packages and weight; once every listed box is tallied the bill is
    reconciled; the report goes on to customs."""
    session = ctx.session
    boxes, applied = rows.boxes(message), []
    for bill, containers in boxes.items():
        consignment = _manifested(session, bill, message_id, "MT5101")
        if consignment is None:
            continue
        applied.append(bill)
        for box, equipment in containers:
            c = rows.container(session, bill, box)
            c.tallied_at = now()
            c.tally_packages, c.tally_gross_kg = equipment.package_quantity, equipment.gross_mass
            if not c.listed:
                report(session, consignment, "unlisted_container", {"container": box, "reported_by": "tally"})
        reconcile_tally(ctx, consignment)
    if applied:  # a parked report reaches customs when it is applied
        outbound.to_customs(
            session, "MT5101", outbound.encoded(message), bills=applied, correlation_id=message_id
        )


def gate_out(ctx: Context, sender: str, message: GateOutReport, message_id: str) -> None:
    """The terminal's (or site's) gate-out report: each box's gated_out_at, once. A box that left
    unreleased is a discrepancy the manifest's sender and customs are told of (domain gate_out);
    a redelivered report changes nothing."""
    session = ctx.session
    for gate in message.gate_outs:
        consignment = session.get(ClrConsignment, gate.bill_no)
        row = session.get(ClrContainer, (gate.bill_no, gate.container_id))
        if consignment is None or row is None:  # intake refuses these; kept visible if one slips by
            log.warning("gate-out %s: %s/%s unknown", message_id, gate.bill_no, gate.container_id)
            continue
        if _supervised_transfer(consignment, row, gate):
            audit.record(
                session,
                sender,
                "container.transferred",
                "consignment",
                gate.bill_no,
                {"container": gate.container_id, "from": gate.site_code, "to": consignment.destination_site},
            )
            continue
        _gate_out_box(ctx, consignment, row, gate, sender, message_id)


def _gate_out_box(
    ctx: Context, consignment: ClrConsignment, row: ClrContainer, gate: GateOut, sender: str, message_id: str
) -> None:
    session = ctx.session
    cons = repository.consignment(consignment, [row])
    if not cons.gate_out(gate.container_id, rows.aware(gate.gated_out_at) or now(), gate.site_code):
        return  # gated out already (the same report again, or another copy)
    repository.save_consignment(consignment, cons, [row])
    row.gate_out_site = gate.site_code
    happened = cons.pull_events()
    publish(session, happened)
    audit.record(
        session,
        sender,
        "container.gated_out",
        "consignment",
        gate.bill_no,
        {"container": gate.container_id, "site": gate.site_code, "message": message_id},
    )
    for found in happened:
        if isinstance(found, events.DiscrepancyFound):  # customs must know a box left unreleased
            outbound.send_json(
                session,
                CUSTOMS_KEY,
                "DiscrepancyNotice",
                {"bill_no": found.bill_no, "kind": found.kind, **found.detail},
                bills=[found.bill_no],
                correlation_id=message_id,
            )


def _supervised_transfer(consignment: ClrConsignment, row: ClrContainer, gate: GateOut) -> bool:
    """An unreleased box of a distributed bill leaving the terminal for its destination site moves
    under customs control (分拨): not a gate-out; the destination's gate reports that later."""
    return (
        row.released_at is None
        and bool(consignment.destination_site)
        and gate.site_code != consignment.destination_site
        and gate.site_code == consignment.terminal_code
    )
