"""Inspections (查验) and stage-2 holds: the instruction recorded and sent to the broker, the yard and
(when it must report a result) customs; and the handler of customs' result (InspectionNotice)."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.clock import now
from hub.db import audit
from hub.db.clearance_tables import ClrConsignment, ClrDeclaration
from hub.services.clearance import outbound
from hub.services.clearance.holds import DOCUMENTS_NOTICE, STAGE2_HOLDS, hold_of
from hub.services.clearance.settings import CUSTOMS_KEY
from hub.services.clearance.workflow import rows
from hub.services.clearance.workflow.aggregates import ACTOR, change_declaration, record_instruction
from hub.services.clearance.workflow.context import Context
from hub.services.clearance.workflow.release import try_release
from messages import xml as xmlcodec
from messages.models.notices import (
    InspectionCheck,
    InspectionInstruction,
    InspectionLocation,
    InspectionNotice,
    InspectionOutcome,
)
from risk import Decision, lab_result, quarantine_result, scan_result

log = logging.getLogger(__name__)

# Stage-1 outcome -> (instruction, location, customs must report a result before port release)
INSPECTIONS: dict[str, tuple[InspectionInstruction, InspectionLocation, bool]] = {
    "machine_scan_first": (InspectionInstruction.MACHINE, InspectionLocation.PORT, True),
    "port_inspection": (InspectionInstruction.MANUAL, InspectionLocation.PORT, True),
    "destination_inspection": (InspectionInstruction.MANUAL, InspectionLocation.DESTINATION, False),
    "conditional_removal": (InspectionInstruction.SAMPLING, InspectionLocation.PORT, False),
}


def order_inspection(
    session: Session,
    row: ClrDeclaration,
    consignment: ClrConsignment,
    decision: Decision,
    by: str = "hub",
) -> None:
    """The stage-1 outcome's inspection, ordered by the hub (or escalated after a scan anomaly)."""
    instruction, location, needs_result = INSPECTIONS[decision.outcome.value]
    notice = InspectionNotice(
        notice_id=outbound.new_id("INSP"),
        bill_no=row.bill_no,
        issued_at=now(),
        location=location,
        instruction=instruction,
        site_code=consignment.terminal_code,
        declaration_ids=rows.notice_ids(row),
        container_ids=rows.listed(session, row.bill_no),
        checks=[InspectionCheck(c.code.upper()[:20], f"{c.code}: {c.description}") for c in decision.checks],
        reasons=[f"{h.rule_id}: {h.reason}" for h in decision.hits] or ["selected by customs"],
    )
    record_instruction(
        session,
        row,
        {
            "notice_id": notice.notice_id,
            "outcome_stage1": decision.outcome.value,
            "instruction": instruction.value,
            "location": location.value,
            "needs_result": needs_result,
            "result": "PENDING",
            "ordered_by": by,
        },
    )
    notify(session, row, consignment, notice, to_customs=needs_result and by == "hub")


def customs_inspection(session: Session, row: ClrDeclaration, consignment: ClrConsignment, note: str) -> None:
    """An inspection customs ordered itself (DEC_DATA SpC): broker and yard are told; customs knows."""
    notice = InspectionNotice(
        notice_id=outbound.new_id("INSP"),
        bill_no=row.bill_no,
        issued_at=now(),
        location=InspectionLocation.PORT,
        instruction=InspectionInstruction.MANUAL,
        site_code=consignment.terminal_code,
        declaration_ids=rows.notice_ids(row),
        container_ids=rows.listed(session, row.bill_no),
        reasons=[f"customs: {note or 'selected'}"],
    )
    record_instruction(
        session,
        row,
        {
            "notice_id": notice.notice_id,
            "outcome_stage1": "port_inspection",
            "instruction": "MANUAL",
            "location": "PORT",
            "needs_result": True,
            "result": "PENDING",
            "ordered_by": "customs",
        },
    )
    notify(session, row, consignment, notice, to_customs=False)


def stage2_hold(session: Session, row: ClrDeclaration, decision: Decision) -> None:
    """Record the complete declaration's hold; tell the broker (and the yard for a physical check)
    and customs."""
    kind = decision.outcome.value
    consignment = session.get(ClrConsignment, row.bill_no)
    reasons = [f"{h.rule_id}: {h.reason}"[:255] for h in decision.hits] or ["stage-2 conformity check"]
    shape = STAGE2_HOLDS[kind]
    notice_id = outbound.new_id("HOLD")
    record_instruction(
        session,
        row,
        {
            "notice_id": notice_id,
            "stage": 2,
            "hold": kind,
            "instruction": shape[0].value if shape else "DOCUMENTS",
            "location": shape[1].value if shape else None,
            "checks": [c.code for c in decision.checks],
            "needs_result": True,
            "result": "PENDING",
            "ordered_by": "hub",
        },
    )
    row.reasons = [
        *(row.reasons or []),
        f"stage-2 hold ({kind}): not cleared until customs reports the result",
    ]
    audit.record(
        session, ACTOR, "declaration.hold", "declaration", row.id, {"hold": kind, "notice": notice_id}
    )
    if shape is None:
        _documents_required(session, row, kind, notice_id, decision, reasons)
        return
    notice = InspectionNotice(
        notice_id=notice_id,
        bill_no=row.bill_no,
        issued_at=now(),
        location=shape[1],
        instruction=shape[0],
        site_code=consignment.terminal_code if consignment else "",
        declaration_ids=rows.notice_ids(row),
        container_ids=rows.listed(session, row.bill_no),
        checks=[
            InspectionCheck(c.code.upper()[:20], f"{c.code}: {c.description}"[:255]) for c in decision.checks
        ],
        reasons=reasons,
    )
    notify(session, row, consignment, notice, to_customs=True)


def _documents_required(
    session: Session, row: ClrDeclaration, kind: str, notice_id: str, decision: Decision, reasons: list[str]
) -> None:
    """A documents hold has no physical check: a DocumentsRequiredNotice to the broker and customs."""
    body = {
        "notice_id": notice_id,
        "declaration_id": row.id,
        "client_seq_no": row.client_seq_no,
        "bill_no": row.bill_no,
        "outcome": kind,
        "checks": [c.to_dict() for c in decision.checks],
        "reasons": reasons,
    }
    for receiver in (row.broker_uscc, CUSTOMS_KEY):
        outbound.send_json(
            session, receiver, DOCUMENTS_NOTICE, body, bills=[row.bill_no], correlation_id=row.id
        )


def lift_hold(session: Session, row: ClrDeclaration, reason: str) -> None:
    """A stage-2 hold's check passed (documents examined, lab or on-site result PASSED)."""
    row.inspection = {**(row.inspection or {}), "result": "PASSED", "result_at": now().isoformat()}
    row.reasons = [*(row.reasons or []), f"stage-2 hold lifted: {reason}"]
    row.updated_at = now()
    if row.state == "held":  # e.g. documents supplied after an Sp1
        change_declaration(session, row, lambda d: d.register(now(), "stage-2 hold lifted"))
    audit.record(session, ACTOR, "declaration.hold.lifted", "declaration", row.id, {"reason": reason})


def notify(
    session: Session,
    row: ClrDeclaration,
    consignment: ClrConsignment | None,
    notice: InspectionNotice,
    to_customs: bool,
) -> None:
    """查验通知: the broker and the yard operator each get their copy at once (seed 1.7)."""
    body = xmlcodec.encode(notice)
    receivers = [row.broker_uscc, *outbound.yard_operators(session, consignment)]
    for receiver in dict.fromkeys(receivers):
        outbound.send(session, receiver, "InspectionNotice", body, bills=[row.bill_no], correlation_id=row.id)
    if to_customs:
        outbound.to_customs(session, "InspectionNotice", body, bills=[row.bill_no], correlation_id=row.id)


# ----- the handler: customs' result --------------------------------------------------------------
def inspection_result(ctx: Context, sender: str, notice: InspectionNotice, message_id: str) -> None:
    """InspectionNotice from customs with its Outcome: passed the goods go on to release; a
    machine-scan anomaly escalates to port inspection; any other anomaly holds them."""
    session = ctx.session
    row = _declaration_of(session, notice)
    if row is None or not row.inspection:
        log.warning("inspection result %s matches no inspection", notice.notice_id)
        return
    consignment = session.get(ClrConsignment, row.bill_no)
    inspection = dict(row.inspection)
    inspection["result"] = notice.outcome.value
    inspection["result_at"] = now().isoformat()
    row.inspection, row.updated_at = inspection, now()
    # the result reaches the broker and the yard as it reached us
    for receiver in dict.fromkeys([row.broker_uscc, *outbound.yard_operators(session, consignment)]):
        outbound.send_model(
            session, receiver, notice, "InspectionNotice", bills=[row.bill_no], correlation_id=row.id
        )
    if inspection.get("stage") == 2:
        _stage2_result(session, row, notice)
        return
    if notice.outcome == InspectionOutcome.ANOMALY:
        if inspection.get("outcome_stage1") == "machine_scan_first" and row.screening:
            _escalate_scan(session, row, consignment)
            return
        change_declaration(session, row, lambda d: d.hold("inspection found an anomaly: goods held", now()))
        return
    change_declaration(session, row, lambda d: d.inspection_passed(now()))
    try_release(session, row)


def _escalate_scan(session: Session, row: ClrDeclaration, consignment: ClrConsignment | None) -> None:
    """A machine-scan anomaly: the risk engine's follow-up (port inspection) is ordered."""
    assert row.screening is not None
    follow = scan_result(_decision_of(row), clear=False)
    audit.record(session, ACTOR, "inspection.escalated", "declaration", row.id, follow.to_dict())
    decision = _decision_of(row)
    decision.outcome = follow.after  # type: ignore[assignment]
    row.screening = {
        **row.screening,
        "outcome": follow.after.value if follow.after else None,
        "follow_up": follow.to_dict(),
    }
    if consignment is not None:
        order_inspection(session, row, consignment, decision)


def _stage2_result(session: Session, row: ClrDeclaration, notice: InspectionNotice) -> None:
    """The lab / on-site result of a stage-2 hold: PASSED lifts it (customs then clears with R),
    anything else keeps the goods held with the follow-up the risk engine prescribes."""
    hold = hold_of(row) or {}
    if notice.outcome == InspectionOutcome.PASSED:
        lift_hold(session, row, f"{hold.get('hold')}: {notice.instruction.value} PASSED")
        return
    if notice.outcome != InspectionOutcome.ANOMALY:
        return  # PENDING / SAMPLE_PENDING: still waiting
    decision = _decision_of(row)
    follow = (
        quarantine_result(decision, pests_found=True)
        if hold.get("hold") == "release_on_inspection"
        else lab_result(decision, passed=False)
    )
    audit.record(session, ACTOR, "declaration.hold.failed", "declaration", row.id, follow.to_dict())
    why = f"stage-2 {hold.get('hold')} failed: {follow.reason}"
    change_declaration(session, row, lambda d: d.hold(why, now()))


def _declaration_of(session: Session, notice: InspectionNotice) -> ClrDeclaration | None:
    """The declaration whose inspection the notice names; else (customs' own stage-1 inspections)
    the summary whose ClientSeqNo or EntryId it carries."""
    found = list(
        session.scalars(
            select(ClrDeclaration)
            .where(ClrDeclaration.bill_no == notice.bill_no)
            .order_by(ClrDeclaration.created_at)
        )
    )
    for row in found:
        if row.inspection and row.inspection.get("notice_id") == notice.notice_id:
            return row
    ids = set(notice.declaration_ids)
    summaries = [r for r in found if r.kind == "summary"]
    return next((r for r in summaries if r.client_seq_no in ids or (r.entry_id and r.entry_id in ids)), None)


def _decision_of(row: ClrDeclaration) -> Decision:
    from risk.model import Lane, Outcome

    s: dict[str, Any] = row.screening or {}
    return Decision(
        stage=int(s.get("stage", 1)),
        outcome=Outcome(s["outcome"]),
        lane=Lane(s["lane"]),
        checks=[],
        location=s.get("location"),
        hits=[],
        sampled=bool(s.get("sampled")),
        ruleset_version=s.get("ruleset_version", ""),
        declaration_id=row.id,
    )
