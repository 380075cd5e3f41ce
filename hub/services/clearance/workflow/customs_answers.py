"""Handlers of customs' answers to a declaration: the DecImportResponse (accepted into the customs
system or not) and the DEC_DATA receipt, whose CHANNEL says what customs decided. Each channel's
effect is one small function in CHANNEL_RULES; the first rule that applies wins."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.clock import now
from hub.db import audit
from hub.db.clearance_tables import ClrConsignment, ClrDeclaration
from hub.services.clearance import answers, outbound
from hub.services.clearance.domain.states import OPEN
from hub.services.clearance.holds import DOCS_CHECKED, DOCS_MISSING, documents_hold_open, hold_of, hold_open
from hub.services.clearance.workflow.aggregates import ACTOR, change_declaration
from hub.services.clearance.workflow.context import Context
from hub.services.clearance.workflow.inspections import customs_inspection, lift_hold
from hub.services.clearance.workflow.parking import park_answer, refuse_answer, unpark_key
from hub.services.clearance.workflow.release import try_release
from messages.models.receipts import DecImportResponse, DecResult, DecResultReceipt

REGISTERED = {"L", "SpL", "0", "1", "7", "G", "J", "SpJ"}
REJECTED = {"E", "SpE", "Y", "Z", "D"}
INSPECT = {"SpC", "C"}
CLEARED = {"R"}
OPEN_STATES = tuple(s.value for s in OPEN)  # customs may still answer


def import_response(ctx: Context, sender: str, response: DecImportResponse, message_id: str) -> None:
    """DecImportResponse: customs' SeqNo recorded (or the declaration rejected), forwarded to the
    broker; receipts that overtook it are applied now."""
    session = ctx.session
    if forwarded_id := answers.reply_to(session, message_id):
        try:  # the declaration the hub forwarded, never another one carrying the same reference
            row = answers.import_response_target(session, forwarded_id, response)
        except answers.AnswerMismatch as exc:
            refuse_answer(session, message_id, str(exc))
            return
    else:
        row = session.scalars(
            select(ClrDeclaration)
            .where(ClrDeclaration.client_seq_no == response.client_seq_no)
            .order_by(ClrDeclaration.created_at.desc())
        ).first()
    if row is None:
        park_answer(
            ctx,
            message_id,
            "DecImportResponse",
            f"client:{response.client_seq_no}",
            "",
            f"DecImportResponse for ClientSeqNo {response.client_seq_no}, which matches no declaration",
        )
        return
    if response.accepted:
        row.seq_no, row.updated_at = response.seq_no or row.seq_no, now()
    else:
        change_declaration(session, row, lambda d: d.reject(f"customs: {response.error_message}", now()))
    outbound.send_model(
        session, row.broker_uscc, response, "DecImportResponse", bills=[row.bill_no], correlation_id=row.id
    )
    if row.seq_no:
        unpark_key(ctx, f"seq:{row.seq_no}")  # receipts that overtook this response


def dec_data(ctx: Context, sender: str, receipt: DecResultReceipt, message_id: str) -> None:
    """DEC_DATA: the channel's rule applied, the receipt forwarded to the broker, the summary
    released if nothing blocks it any more."""
    session, result = ctx.session, receipt.result
    row = None
    if forwarded_id := answers.reply_to(session, message_id):
        try:
            row = answers.dec_data_target(session, forwarded_id, receipt)
        except answers.AnswerMismatch as exc:
            refuse_answer(session, message_id, str(exc))
            return
    if row is None and result.seq_no:
        row = session.scalar(select(ClrDeclaration).where(ClrDeclaration.seq_no == result.seq_no))
    if row is None and result.entry_id:
        row = session.scalar(select(ClrDeclaration).where(ClrDeclaration.entry_id == result.entry_id))
    if row is None:
        key = f"seq:{result.seq_no}" if result.seq_no else f"entry:{result.entry_id}"
        park_answer(
            ctx,
            message_id,
            "DEC_DATA",
            key,
            result.bill_no,
            f"DEC_DATA {result.channel} for SeqNo {result.seq_no or '-'} / EntryId "
            f"{result.entry_id or '-'}, which matches no declaration",
        )
        return
    new_entry = bool(result.entry_id) and row.entry_id != result.entry_id
    if result.entry_id:
        row.entry_id = result.entry_id
    rule = next((r for r in CHANNEL_RULES if result.channel in r.channels and r.applies(row)), None)
    if rule is not None:
        rule.act(session, row, result)
    outbound.send_model(
        session, row.broker_uscc, receipt, "DEC_DATA", bills=[row.bill_no], correlation_id=row.id
    )
    if row.kind == "summary":
        try_release(session, row)
    if new_entry:
        unpark_key(ctx, f"entry:{row.entry_id}")


# ----- what each channel does ---------------------------------------------------------------------
def _documents_checked(session: Session, row: ClrDeclaration, result: DecResult) -> None:
    lift_hold(session, row, f"customs {result.channel}: documents checked ({result.note})")
    if row.state in ("submitted", "received"):
        change_declaration(session, row, lambda d: d.register(now()))


def _documents_missing(session: Session, row: ClrDeclaration, result: DecResult) -> None:
    row.inspection = {
        **(row.inspection or {}),
        "result": "SUPPLEMENT_REQUIRED",
        "result_at": now().isoformat(),
    }
    why = f"customs {result.channel}: supplementary documents required ({result.note})"
    change_declaration(session, row, lambda d: d.hold(why, now()))


def _registered(session: Session, row: ClrDeclaration, result: DecResult) -> None:
    change_declaration(session, row, lambda d: d.register(now()))


def _rejected(session: Session, row: ClrDeclaration, result: DecResult) -> None:
    change_declaration(session, row, lambda d: d.reject(f"customs {result.channel}: {result.note}", now()))


def _customs_inspects(session: Session, row: ClrDeclaration, result: DecResult) -> None:
    """Customs registers (SpL) and selects for inspection (SpC) in two receipts; when every box had
    arrived the hub released on the first. The order still stands: broker and yard are told, boxes
    not yet gated out wait, and the result releases them again (or holds them)."""
    after_release = row.state == "released"
    inspection = row.inspection or {}
    # Before the release an inspection the hub ordered is the one customs means; after it, only one
    # still waiting for its result is.
    ordered = inspection.get("result") == "PENDING" if after_release else bool(inspection.get("needs_result"))
    consignment = session.get(ClrConsignment, row.bill_no)
    if consignment is not None and not ordered:
        customs_inspection(session, row, consignment, result.note)
    when = " after the release" if after_release else ""
    why = f"customs ordered an inspection{when}: {result.note}"
    change_declaration(session, row, lambda d: d.select_for_inspection(why, now()))


def _cleared(session: Session, row: ClrDeclaration, result: DecResult) -> None:
    """已结关 (R): the declaration (and the summary a complete one completes) cleared, unless the
    complete declaration's stage-2 hold is still open."""
    if _clearance_withheld(session, row):
        return
    change_declaration(session, row, lambda d: d.clear("customs: 已结关", now()))
    if row.summary_id and (summary := session.get(ClrDeclaration, row.summary_id)) is not None:
        change_declaration(session, summary, lambda d: d.clear(f"completed by {row.id}", now()))


def _clearance_withheld(session: Session, row: ClrDeclaration) -> bool:
    """DEC_DATA R while the complete declaration's stage-2 hold is open: recorded, not applied
    (customs reports the hold's result first, then clears)."""
    complete = row if row.kind == "complete" else None
    if complete is None and row.completed_by:
        complete = session.get(ClrDeclaration, row.completed_by)
    if not hold_open(complete):
        return False
    assert complete is not None
    hold = hold_of(complete) or {}
    reason = (
        f"customs sent 已结关 (R) while the stage-2 hold {hold.get('hold')} is "
        f"{str(hold.get('result')).lower()}: not cleared"
    )
    row.reasons = [*(row.reasons or []), reason]
    row.updated_at = now()
    audit.record(
        session,
        ACTOR,
        "clearance.withheld",
        "declaration",
        row.id,
        {"hold": hold.get("hold"), "by": complete.id},
    )
    return True


@dataclass(frozen=True)
class ChannelRule:
    """Customs' channels (DEC_DATA CHANNEL) this rule takes, in which declaration states, and its effect."""

    channels: frozenset[str]
    applies: Callable[[ClrDeclaration], bool]
    act: Callable[[Session, ClrDeclaration, DecResult], None]


def _rule(
    channels: set[str], applies: Callable[[ClrDeclaration], bool], act: Callable[..., None]
) -> ChannelRule:
    return ChannelRule(frozenset(channels), applies, act)


# In order: a documents hold's answer before the plain registration (G and J are both).
CHANNEL_RULES: tuple[ChannelRule, ...] = (
    _rule(DOCS_CHECKED, documents_hold_open, _documents_checked),
    _rule(DOCS_MISSING, documents_hold_open, _documents_missing),
    _rule(REGISTERED, lambda row: row.state in ("submitted", "received"), _registered),
    _rule(REJECTED, lambda row: row.state in OPEN_STATES, _rejected),
    _rule(
        INSPECT,
        lambda row: row.kind == "summary" and row.state in (*OPEN_STATES, "released"),
        _customs_inspects,
    ),
    _rule(CLEARED, lambda row: row.state in (*OPEN_STATES, "released"), _cleared),
)
