"""The clearance workflow. Every change happens inside the caller's transaction together with
its audit entry and the outgoing messages it causes (hub.services.clearance.outbound). States change
only in the domain model (hub.services.clearance.domain: transition tables, aggregates, events): the
workflow loads an aggregate from its rows, calls one domain method, writes it back (`_decl`) and
hands the events to hub.services.clearance.messagebus (audit, release / discrepancy / overdue notices).

Summary declaration: received -> held (no manifest yet) -> submitted (screened, sent to customs)
-> registered (customs EntryId) [-> inspection] -> released -> cleared; or rejected / refused.
Complete declaration: received -> submitted (stage-2 screened, sent to customs) -> registered -> cleared.
Arrival and tally reports for a bill without a manifest are parked and applied when it arrives."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from hub.clock import SHANGHAI, now
from hub.db import audit
from hub.db.clearance_tables import ClrConsignment, ClrContainer, ClrDeclaration, ClrDiscrepancy, ClrParked
from hub.db.models import Message
from hub.db.session import in_batch
from hub.services.clearance import answers, authority, messagebus, outbound, reconcile, repository
from hub.services.clearance.domain import events, model
from hub.services.clearance.domain.states import CONSIGNMENT_INITIAL, DECLARATION_INITIAL, OPEN
from hub.services.clearance.holds import (
    DOCS_CHECKED,
    DOCS_MISSING,
    DOCUMENTS_NOTICE,
    STAGE2_HOLDS,
    documents_hold_open,
    hold_of,
    hold_open,
)
from hub.services.clearance.settings import CUSTOMS_KEY, ClearanceSettings
from hub.services.intake import Accepted, IntakeRejected, Problem
from hub.services.screening import trader_profile
from messages import xml as xmlcodec
from messages.models.declaration import Declaration, DeclarationKind
from messages.models.gate import GateOut, GateOutReport
from messages.models.manifest import Manifest
from messages.models.notices import (
    InspectionCheck,
    InspectionInstruction,
    InspectionLocation,
    InspectionNotice,
    InspectionOutcome,
    ReleaseType,
)
from messages.models.receipts import DecImportResponse, DecResultReceipt, ManifestResponse
from refunds import WorkingCalendar
from risk import Decision, RuleEngine, ScreeningContext, lab_result, quarantine_result, scan_result

log = logging.getLogger(__name__)
ACTOR = "clearance"

STAGE1_RANK = {
    "release_on_arrival": 0,
    "machine_scan_first": 1,
    "destination_inspection": 2,
    "conditional_removal": 3,
    "port_inspection": 4,
    "refuse_entry": 5,
}
# Stage-1 outcome -> (instruction, location, customs must report a result before port release)
INSPECTIONS: dict[str, tuple[InspectionInstruction, InspectionLocation, bool]] = {
    "machine_scan_first": (InspectionInstruction.MACHINE, InspectionLocation.PORT, True),
    "port_inspection": (InspectionInstruction.MANUAL, InspectionLocation.PORT, True),
    "destination_inspection": (InspectionInstruction.MANUAL, InspectionLocation.DESTINATION, False),
    "conditional_removal": (InspectionInstruction.SAMPLING, InspectionLocation.PORT, False),
}
RELEASE_TYPE = {
    "release_on_arrival": ReleaseType.NORMAL,
    "machine_scan_first": ReleaseType.NORMAL,
    "port_inspection": ReleaseType.NORMAL,
    "destination_inspection": ReleaseType.CONDITIONAL,
    "conditional_removal": ReleaseType.CONDITIONAL,
}
REGISTERED = {"L", "SpL", "0", "1", "7", "G", "J", "SpJ"}
REJECTED = {"E", "SpE", "Y", "Z", "D"}
INSPECT = {"SpC", "C"}
CLEARED = {"R"}
ANSWER_TYPES = ("DEC_DATA", "DecImportResponse")  # customs answers: parked until their declaration appears
NOTICE_ID = re.compile(r"[0-9A-Z]{18}")
OPEN_STATES = tuple(s.value for s in OPEN)  # customs may still answer


def parse_stamp(value: str) -> datetime | None:
    """yyyyMMdd[HHmm[ss]] (manifest dates, Shanghai time) -> aware datetime."""
    digits = "".join(ch for ch in value if ch.isdigit())
    for fmt in ("%Y%m%d%H%M%S", "%Y%m%d%H%M", "%Y%m%d"):
        width = len(datetime(2000, 1, 1).strftime(fmt))
        if len(digits) >= width:
            try:
                return datetime.strptime(digits[:width], fmt).replace(tzinfo=SHANGHAI)
            except ValueError:
                return None
    return None


def aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=SHANGHAI)


def container_figures(manifest_cons: Any) -> dict[str, tuple[int | None, Decimal | None]]:
    """Packages and gross kg per container from the manifest goods lines (lines name their boxes)."""
    out: dict[str, list[Any]] = {e.equipment_id: [None, None] for e in manifest_cons.transport_equipment}
    for item in manifest_cons.items:
        for box in item.equipment_ids:
            if box not in out or len(item.equipment_ids) != 1:
                continue
            packages, gross = out[box]
            if item.package_quantity is not None:
                out[box][0] = (packages or 0) + item.package_quantity
            if item.gross_mass is not None:
                out[box][1] = (gross or Decimal(0)) + item.gross_mass
    return {k: (v[0], v[1]) for k, v in out.items()}


class ClearanceWorkflow:
    def __init__(
        self,
        settings: ClearanceSettings,
        engine: Callable[[], RuleEngine],
        calendar: Callable[[], WorkingCalendar],
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.calendar = calendar

    # ===== intake hooks (synchronous, inside the intake transaction) ==========================
    def accept(self, session: Session, msg: Accepted) -> dict[str, Any]:
        if msg.message_type != "DecMessage":
            authority.check(session, msg)  # who may send it: bill owner, reporting site
            required = self.settings.require_answer_correlation and msg.message_type in answers.ANSWERS
            if required and not msg.in_reply_to:
                raise IntakeRejected(
                    422,
                    msg.message_id,
                    [Problem("correlation id", "required: the id of the hub message this answers")],
                )
            if msg.in_reply_to and msg.message_type in answers.ANSWERS:
                try:  # a customs answer must fit the message it says it answers
                    answers.check(session, msg.message_type, msg.in_reply_to, msg.model)
                except answers.AnswerMismatch as exc:
                    raise IntakeRejected(409, msg.message_id, [Problem("correlation id", str(exc))]) from None
            return {"bills": msg.keys["bills"]}
        decl: Declaration = msg.model
        problems = self.problems(session, msg)
        if problems:
            raise IntakeRejected(422, msg.message_id, problems, f"{len(problems)} problem(s)")
        kind = decl.kind.value
        summary = self._summary_for(session, decl, msg.sender) if kind == "complete" else None
        stamp = now()
        row = ClrDeclaration(
            id=msg.message_id,
            kind=kind,
            broker_uscc=msg.sender,
            client_seq_no=decl.client_seq_no,
            bill_no=decl.head.bill_no,
            summary_id=summary.id if summary else None,
            state=DECLARATION_INITIAL.value,
            message_id=msg.message_id,
            package_qty=decl.head.pack_no,
            gross_kg=decl.head.gross_wet,
            reasons=[],
            created_at=stamp,
            updated_at=stamp,
        )
        session.add(row)
        response = DecImportResponse("0", "", decl.client_seq_no)
        outbound.send_model(
            session, msg.sender, response, "DecImportResponse", bills=[row.bill_no], correlation_id=row.id
        )
        audit.record(
            session,
            msg.sender,
            f"declaration.{kind}.received",
            "declaration",
            row.id,
            {"client_seq_no": row.client_seq_no, "bill_no": row.bill_no},
        )
        return {
            "declaration_id": row.id,
            "state": row.state,
            "import_response": xmlcodec.encode(response).decode("utf-8"),
        }

    def prefetch(self, session: Session, batch: Sequence[Accepted]) -> None:
        """What accept() reads for a batch of messages, one query per kind instead of one per message
        (authority.prefetch, answers.prefetch); accept() still queries whatever is not found."""
        authority.prefetch(session, batch)
        answers.prefetch(session, [(m.message_type, m.in_reply_to or "", m.model) for m in batch])

    def problems(self, session: Session, msg: Accepted) -> list[Problem]:
        """Every business problem of a message, read-only: accept refuses on them, and intake lists
        them beside the schema and semantic problems of a message refused earlier (docs/errors.md)."""
        if msg.message_type != "DecMessage":
            return authority.problems(session, msg)
        decl: Declaration = msg.model
        problems = self._declaration_problems(session, decl, msg.sender)
        return problems + authority.declaration_problems(session, decl, msg.sender, msg.sender_roles)

    def receipt_for(self, session: Session, message_id: str) -> dict[str, Any]:
        row = session.scalar(select(ClrDeclaration).where(ClrDeclaration.message_id == message_id))
        return {"declaration_id": row.id, "state": row.state} if row else {}

    def _declaration_problems(self, session: Session, decl: Declaration, sender: str) -> list[Problem]:
        problems = []
        if decl.head.ie_flag != "I":
            problems.append(
                Problem("DecHead/IEFlag", "only import declarations take the two-step route", "not_import")
            )
        if decl.kind == DeclarationKind.ORDINARY:
            problems.append(
                Problem("DecHead/Type", "position 3 must be 5 (summary) or 6 (complete)", "not_two_step")
            )
        if not decl.client_seq_no:
            problems.append(
                Problem("DecSign/ClientSeqNo", "required: it correlates every receipt", "missing_value")
            )
        if not decl.head.bill_no:
            problems.append(
                Problem("DecHead/BillNo", "required: the bill of lading links the manifest", "missing_value")
            )
        used = session.scalar(
            select(ClrDeclaration.id).where(
                ClrDeclaration.broker_uscc == sender, ClrDeclaration.client_seq_no == decl.client_seq_no
            )
        )
        if used:
            problems.append(
                Problem("DecSign/ClientSeqNo", f"already used by declaration {used}", "reference_used")
            )
        elif decl.client_seq_no and session.scalar(
            select(ClrDeclaration.id).where(ClrDeclaration.client_seq_no == decl.client_seq_no).limit(1)
        ):
            # customs answers (DecImportResponse) carry only the ClientSeqNo: one number, one
            # declarant, so an answer can never reach another broker's declaration
            problems.append(
                Problem(
                    "DecSign/ClientSeqNo",
                    "not available: choose another client sequence number",
                    "reference_used",
                )
            )
        if (
            decl.kind == DeclarationKind.COMPLETE
            and decl.head.bill_no
            and not self._summary_for(session, decl, sender)
        ):
            problems.append(
                Problem(
                    "DecHead/BillNo",
                    f"no open summary declaration of yours for bill "
                    f"{decl.head.bill_no} (or for the EntryId in CorrelationNo) to complete",
                    "no_open_summary",
                )
            )
        return problems

    @staticmethod
    def _summary_for(session: Session, decl: Declaration, sender: str) -> ClrDeclaration | None:
        ref = decl.head.correlation_no or (decl.free_txt.rel_id if decl.free_txt else "")
        query = select(ClrDeclaration).where(
            ClrDeclaration.kind == "summary",
            ClrDeclaration.broker_uscc == sender,
            ClrDeclaration.bill_no == decl.head.bill_no,
            ClrDeclaration.completed_by.is_(None),
            ClrDeclaration.state.notin_(("rejected", "refused")),
        )
        if ref:
            query = query.where(ClrDeclaration.entry_id == ref)
        return session.scalars(query.order_by(ClrDeclaration.created_at)).first()

    # ===== workflow (asynchronous, from the inbound consumer) =================================
    def apply(self, session: Session, message_type: str, sender: str, model: Any, message_id: str) -> None:
        handler = {
            "MT1101": self.on_manifest,
            "MT6102": self.on_distribution,
            "DecMessage": self.on_declaration,
            "MT3101": self.on_arrival,
            "MT5101": self.on_tally,
            "MT9999": self.on_manifest_receipt,
            "DecImportResponse": self.on_import_response,
            "DEC_DATA": self.on_dec_data,
            "InspectionNotice": self.on_inspection_result,
            "GateOutReport": self.on_gate_out,
        }[message_type]
        handler(session, sender, model, message_id)
        # one UPDATE, not a load of the archived row (raw payload included) and then an UPDATE; a
        # handler that parked the message has already moved it off `accepted`
        session.execute(
            update(Message)
            .where(Message.id == message_id, Message.status == "accepted")
            .values(status="processed", updated_at=now())
        )

    # ----- manifest ---------------------------------------------------------------------------
    def on_manifest(self, session: Session, sender: str, manifest: Manifest, message_id: str) -> None:
        decl, stamp = manifest.declaration, now()
        conveyance = decl.conveyance
        entry = None
        if conveyance is not None:
            entry = parse_stamp(conveyance.arrival_date_time or conveyance.actual_date_time)
        if entry is None and decl.unloading_location is not None:
            entry = parse_stamp(decl.unloading_location.date_time)
        bills = []
        for cons in decl.consignments:
            row = session.get(ClrConsignment, cons.bill_no)
            if row is None:
                row = ClrConsignment(bill_no=cons.bill_no, created_at=stamp, status=CONSIGNMENT_INITIAL.value)
                session.add(row)
            elif row.manifest_sender and row.manifest_sender != sender:
                # two first manifests accepted at once: the earlier applied one owns the bill
                audit.record(
                    session, sender, "manifest.refused", "manifest", message_id, {"bill": cons.bill_no}
                )
                continue
            row.consignee_uscc = authority.manifest_consignee(cons) or row.consignee_uscc
            row.voyage_no = conveyance.journey_id if conveyance else ""
            row.vessel = conveyance.name if conveyance else ""
            row.terminal_code = decl.unloading_location.id if decl.unloading_location else ""
            row.manifest_sender, row.manifest_message_id = sender, message_id
            row.package_qty, row.gross_kg, row.entry_at, row.updated_at = (
                cons.package_quantity,
                cons.gross_mass,
                entry,
                stamp,
            )
            for box, (packages, gross) in container_figures(cons).items():
                c = session.get(ClrContainer, (cons.bill_no, box))
                if c is None:
                    c = ClrContainer(bill_no=cons.bill_no, container_no=box)
                    session.add(c)
                c.listed, c.manifest_packages, c.manifest_gross_kg = True, packages, gross
            bills.append(cons.bill_no)
        session.flush()
        if not bills:
            return
        outbound.to_customs(
            session,
            manifest.head.message_type,
            outbound.encoded(manifest),
            bills=bills,
            correlation_id=message_id,
        )
        audit.record(session, sender, "manifest.received", "manifest", message_id, {"bills": bills})
        for bill in bills:
            self._unpark(session, bill)
            for summary in self._summaries(session, bill):
                self._set_due(session, summary)

    def on_distribution(self, session: Session, sender: str, manifest: Manifest, message_id: str) -> None:
        """分拨申请 (MT6102): record where the goods go; the destination site's arrival reports follow."""
        site = manifest.declaration.destination_site
        bills = [c.bill_no for c in manifest.declaration.consignments]
        for bill in bills:
            row = session.get(ClrConsignment, bill)
            if row is None:
                self._park(
                    session, bill, message_id, "MT6102", "distribution application before its manifest"
                )
                continue
            self._consignment(row, lambda c: c.distribute(now()))
            row.destination_site = site.id if site else row.destination_site
        outbound.to_customs(
            session, "MT6102", outbound.encoded(manifest), bills=bills, correlation_id=message_id
        )
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
                self._unpark_key(session, f"dist:{bill}")  # destination arrivals that came first

    def on_manifest_receipt(
        self, session: Session, sender: str, receipt: ManifestResponse, message_id: str
    ) -> None:
        """MT9999 from customs: forwarded to whoever sent the message it answers (the manifest's
        sender, or the terminal / tally company that sent an arrival or tally report)."""
        if forwarded_id := answers.reply_to(session, message_id):
            try:
                answers.manifest_receipt_check(session, forwarded_id, receipt)
            except answers.AnswerMismatch as exc:
                self._refuse_answer(session, message_id, str(exc))
                return
        by_receiver: dict[str, list[str]] = {}
        answered = receipt.head.message_type
        for c in receipt.consignments:
            if answered in authority.SITE_REPORTS:
                receiver = authority.report_sender(session, answered, c.bill_no, receipt.head.receiver_id)
            else:
                row = session.get(ClrConsignment, c.bill_no)
                receiver = row.manifest_sender if row is not None else None
            if receiver:
                by_receiver.setdefault(receiver, []).append(c.bill_no)
        for receiver, bills in by_receiver.items():
            outbound.send_model(session, receiver, receipt, "MT9999", bills=bills, correlation_id=message_id)

    # ----- declarations -----------------------------------------------------------------------
    def on_declaration(self, session: Session, sender: str, decl: Declaration, message_id: str) -> None:
        row = session.get(ClrDeclaration, message_id)
        if row is None or row.state != "received":
            return  # already applied (a redelivery after a crash between effects and ack)
        if row.kind == "summary":
            self._summary(session, row, decl)
        else:
            self._complete(session, row, decl)
        self._unpark_key(session, f"client:{row.client_seq_no}")  # customs answered before we knew it

    def _summary(self, session: Session, row: ClrDeclaration, decl: Declaration) -> None:
        consignment = session.get(ClrConsignment, row.bill_no)
        if consignment is None:
            why = f"waiting for the manifest of bill {row.bill_no}"
            self._decl(session, row, lambda d: d.hold(why, now()))
            self._park(
                session,
                row.bill_no,
                row.message_id,
                "DecMessage",
                "summary declaration before its manifest: held, forwarded when the manifest arrives",
            )
            return
        mismatch = authority.consignee_mismatch(session, row.bill_no, decl.head.trade_co_scc)
        if mismatch:  # parked before its manifest, which names another consignee
            self._decl(session, row, lambda d: d.reject(f"DecHead/TradeCoScc: {mismatch}", now()))
            return
        decision = self.screen(session, decl, row, stage=1)
        self._apply_stage1(session, row, consignment, decision)
        if row.state != "refused":
            self._decl(session, row, lambda d: d.submit(1, now()))
        outbound.to_customs(
            session, "DecMessage", outbound.encoded(decl), bills=[row.bill_no], correlation_id=row.id
        )
        self._set_due(session, row)

    def _complete(self, session: Session, row: ClrDeclaration, decl: Declaration) -> None:
        summary = session.get(ClrDeclaration, row.summary_id) if row.summary_id else None
        decision = self.screen(session, decl, row, stage=2)
        if summary is not None:
            summary.completed_by, summary.updated_at = row.id, now()
            row.due_at, row.due_rule = summary.due_at, summary.due_rule
            due = aware(summary.due_at)
            if due is not None and now() > due:
                why = f"filed after the due date {due.isoformat()}"
                self._decl(session, row, lambda d: d.mark_late(now(), due, why, overdue=False))
                self._decl(session, summary, lambda d: d.mark_late(now(), due, None, overdue=False))
        self._decl(session, row, lambda d: d.submit(2, now()))
        if decision.outcome.value in STAGE2_HOLDS:
            # the instruction reaches customs before the declaration: customs then knows, when it
            # registers the declaration, that it must not clear it before the hold's result
            self._stage2_hold(session, row, decision)
        outbound.to_customs(
            session, "DecMessage", outbound.encoded(decl), bills=[row.bill_no], correlation_id=row.id
        )

    def _stage2_hold(self, session: Session, row: ClrDeclaration, decision: Decision) -> None:
        """Record the hold; tell the broker (and the yard for a physical check) and customs."""
        kind = decision.outcome.value
        consignment = session.get(ClrConsignment, row.bill_no)
        reasons = [f"{h.rule_id}: {h.reason}"[:255] for h in decision.hits] or ["stage-2 conformity check"]
        shape = STAGE2_HOLDS[kind]
        notice_id = outbound.new_id("HOLD")
        self._ordered(
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
        if shape is not None:
            notice = InspectionNotice(
                notice_id=notice_id,
                bill_no=row.bill_no,
                issued_at=now(),
                location=shape[1],
                instruction=shape[0],
                site_code=consignment.terminal_code if consignment else "",
                declaration_ids=self._notice_ids(row),
                container_ids=self._listed(session, row.bill_no),
                checks=[
                    InspectionCheck(c.code.upper()[:20], f"{c.code}: {c.description}"[:255])
                    for c in decision.checks
                ],
                reasons=reasons,
            )
            self._notify_inspection(session, row, consignment, notice, to_customs=True)
            return
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

    def screen(self, session: Session, decl: Declaration, row: ClrDeclaration, stage: int) -> Decision:
        consignment = session.get(ClrConsignment, row.bill_no)
        tally = self._tally_total(session, row.bill_no)
        ctx = ScreeningContext(
            trader=trader_profile(session, decl),
            manifest_gross_kg=consignment.gross_kg if consignment else None,
            tally_gross_kg=tally,
        )
        decision = self.engine().screen(decl, ctx, stage=stage)
        row.screening = decision.to_dict()
        audit.record(
            session,
            ACTOR,
            f"declaration.screened.stage{stage}",
            "declaration",
            row.id,
            {"outcome": decision.outcome.value, "ruleset": decision.ruleset_version},
        )
        return decision

    def _apply_stage1(
        self, session: Session, row: ClrDeclaration, consignment: ClrConsignment, decision: Decision
    ) -> None:
        outcome = decision.outcome.value
        if outcome == "refuse_entry":
            why = "; ".join(h.reason for h in decision.hits)
            if not self._decl(session, row, lambda d: d.refuse(why, now())):
                return
            outbound.send_json(
                session,
                row.broker_uscc,
                "RefusalNotice",
                {
                    "declaration_id": row.id,
                    "bill_no": row.bill_no,
                    "screening": row.screening,
                },
                bills=[row.bill_no],
                correlation_id=row.id,
            )
            return
        if outcome in INSPECTIONS:
            self._order_inspection(session, row, consignment, decision)

    def _order_inspection(
        self,
        session: Session,
        row: ClrDeclaration,
        consignment: ClrConsignment,
        decision: Decision,
        by: str = "hub",
    ) -> None:
        instruction, location, needs_result = INSPECTIONS[decision.outcome.value]
        notice = InspectionNotice(
            notice_id=outbound.new_id("INSP"),
            bill_no=row.bill_no,
            issued_at=now(),
            location=location,
            instruction=instruction,
            site_code=consignment.terminal_code,
            declaration_ids=self._notice_ids(row),
            container_ids=self._listed(session, row.bill_no),
            checks=[
                InspectionCheck(c.code.upper()[:20], f"{c.code}: {c.description}") for c in decision.checks
            ],
            reasons=[f"{h.rule_id}: {h.reason}" for h in decision.hits] or ["selected by customs"],
        )
        self._ordered(
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
        self._notify_inspection(session, row, consignment, notice, to_customs=needs_result and by == "hub")

    def _notify_inspection(
        self,
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
            outbound.send(
                session, receiver, "InspectionNotice", body, bills=[row.bill_no], correlation_id=row.id
            )
        if to_customs:
            outbound.to_customs(session, "InspectionNotice", body, bills=[row.bill_no], correlation_id=row.id)

    # ----- customs answers --------------------------------------------------------------------
    def on_import_response(
        self, session: Session, sender: str, response: DecImportResponse, message_id: str
    ) -> None:
        forwarded_id = answers.reply_to(session, message_id)
        if forwarded_id:
            try:  # the declaration the hub forwarded, never another one carrying the same reference
                row = answers.import_response_target(session, forwarded_id, response)
            except answers.AnswerMismatch as exc:
                self._refuse_answer(session, message_id, str(exc))
                return
        else:
            row = session.scalars(
                select(ClrDeclaration)
                .where(ClrDeclaration.client_seq_no == response.client_seq_no)
                .order_by(ClrDeclaration.created_at.desc())
            ).first()
        if row is None:
            self._park_answer(
                session,
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
            self._decl(session, row, lambda d: d.reject(f"customs: {response.error_message}", now()))
        outbound.send_model(
            session,
            row.broker_uscc,
            response,
            "DecImportResponse",
            bills=[row.bill_no],
            correlation_id=row.id,
        )
        if row.seq_no:
            self._unpark_key(session, f"seq:{row.seq_no}")  # receipts that overtook this response

    def on_dec_data(self, session: Session, sender: str, receipt: DecResultReceipt, message_id: str) -> None:
        result = receipt.result
        row = None
        if forwarded_id := answers.reply_to(session, message_id):
            try:
                row = answers.dec_data_target(session, forwarded_id, receipt)
            except answers.AnswerMismatch as exc:
                self._refuse_answer(session, message_id, str(exc))
                return
        if row is None and result.seq_no:
            row = session.scalar(select(ClrDeclaration).where(ClrDeclaration.seq_no == result.seq_no))
        if row is None and result.entry_id:
            row = session.scalar(select(ClrDeclaration).where(ClrDeclaration.entry_id == result.entry_id))
        if row is None:
            key = f"seq:{result.seq_no}" if result.seq_no else f"entry:{result.entry_id}"
            self._park_answer(
                session,
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
        channel = result.channel
        if channel in DOCS_CHECKED and documents_hold_open(row):
            self._lift_hold(session, row, f"customs {channel}: documents checked ({result.note})")
            if row.state in ("submitted", "received"):
                self._decl(session, row, lambda d: d.register(now()))
        elif channel in DOCS_MISSING and documents_hold_open(row):
            row.inspection = {
                **(row.inspection or {}),
                "result": "SUPPLEMENT_REQUIRED",
                "result_at": now().isoformat(),
            }
            why = f"customs {channel}: supplementary documents required ({result.note})"
            self._decl(session, row, lambda d: d.hold(why, now()))
        elif channel in REGISTERED and row.state in ("submitted", "received"):
            self._decl(session, row, lambda d: d.register(now()))
        elif channel in REJECTED and row.state in OPEN_STATES:
            self._decl(session, row, lambda d: d.reject(f"customs {channel}: {result.note}", now()))
        elif channel in INSPECT and row.kind == "summary" and row.state in (*OPEN_STATES, "released"):
            # Customs registers (SpL) and selects for inspection (SpC) in two receipts; when every box had
            # arrived the hub released on the first. The order still stands: broker and yard are told,
            # boxes not yet gated out wait, and the result releases them again (or holds them).
            after_release = row.state == "released"
            inspection = row.inspection or {}
            # Before the release an inspection the hub ordered is the one customs means; after it, only
            # one still waiting for its result is.
            if after_release:
                ordered = inspection.get("result") == "PENDING"
            else:
                ordered = bool(inspection.get("needs_result"))
            consignment = session.get(ClrConsignment, row.bill_no)
            if consignment is not None and not ordered:
                self._customs_inspection(session, row, consignment, result.note)
            when = " after the release" if after_release else ""
            why = f"customs ordered an inspection{when}: {result.note}"
            self._decl(session, row, lambda d: d.select_for_inspection(why, now()))
        elif (
            channel in CLEARED
            and row.state in (*OPEN_STATES, "released")
            and self._clearance_withheld(session, row)
        ):
            pass
        elif channel in CLEARED and row.state in (*OPEN_STATES, "released"):
            self._decl(session, row, lambda d: d.clear("customs: 已结关", now()))
            if row.summary_id and (summary := session.get(ClrDeclaration, row.summary_id)) is not None:
                self._decl(session, summary, lambda d: d.clear(f"completed by {row.id}", now()))
        outbound.send_model(
            session, row.broker_uscc, receipt, "DEC_DATA", bills=[row.bill_no], correlation_id=row.id
        )
        if row.kind == "summary":
            self.try_release(session, row)
        if new_entry:
            self._unpark_key(session, f"entry:{row.entry_id}")

    def _clearance_withheld(self, session: Session, row: ClrDeclaration) -> bool:
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

    def _lift_hold(self, session: Session, row: ClrDeclaration, reason: str) -> None:
        row.inspection = {**(row.inspection or {}), "result": "PASSED", "result_at": now().isoformat()}
        row.reasons = [*(row.reasons or []), f"stage-2 hold lifted: {reason}"]
        row.updated_at = now()
        if row.state == "held":  # e.g. documents supplied after an Sp1
            self._decl(session, row, lambda d: d.register(now(), "stage-2 hold lifted"))
        audit.record(session, ACTOR, "declaration.hold.lifted", "declaration", row.id, {"reason": reason})

    def _customs_inspection(
        self, session: Session, row: ClrDeclaration, consignment: ClrConsignment, note: str
    ) -> None:
        notice = InspectionNotice(
            notice_id=outbound.new_id("INSP"),
            bill_no=row.bill_no,
            issued_at=now(),
            location=InspectionLocation.PORT,
            instruction=InspectionInstruction.MANUAL,
            site_code=consignment.terminal_code,
            declaration_ids=self._notice_ids(row),
            container_ids=self._listed(session, row.bill_no),
            reasons=[f"customs: {note or 'selected'}"],
        )
        self._ordered(
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
        self._notify_inspection(session, row, consignment, notice, to_customs=False)

    def on_inspection_result(
        self, session: Session, sender: str, notice: InspectionNotice, message_id: str
    ) -> None:
        row = self._declaration_of_notice(session, notice)
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
            self._stage2_result(session, row, notice)
            return
        if notice.outcome == InspectionOutcome.ANOMALY:
            if inspection.get("outcome_stage1") == "machine_scan_first" and row.screening:
                follow = scan_result(self._decision_of(row), clear=False)
                audit.record(session, ACTOR, "inspection.escalated", "declaration", row.id, follow.to_dict())
                decision = self._decision_of(row)
                decision.outcome = follow.after  # type: ignore[assignment]
                row.screening = {
                    **row.screening,
                    "outcome": follow.after.value if follow.after else None,
                    "follow_up": follow.to_dict(),
                }
                if consignment is not None:
                    self._order_inspection(session, row, consignment, decision)
                return
            self._decl(session, row, lambda d: d.hold("inspection found an anomaly: goods held", now()))
            return
        self._decl(session, row, lambda d: d.inspection_passed(now()))
        self.try_release(session, row)

    def _stage2_result(self, session: Session, row: ClrDeclaration, notice: InspectionNotice) -> None:
        """The lab / on-site result of a stage-2 hold: PASSED lifts it (customs then clears with R),
        anything else keeps the goods held with the follow-up the risk engine prescribes."""
        hold = hold_of(row) or {}
        if notice.outcome == InspectionOutcome.PASSED:
            self._lift_hold(session, row, f"{hold.get('hold')}: {notice.instruction.value} PASSED")
            return
        if notice.outcome != InspectionOutcome.ANOMALY:
            return  # PENDING / SAMPLE_PENDING: still waiting
        decision = self._decision_of(row)
        follow = (
            quarantine_result(decision, pests_found=True)
            if hold.get("hold") == "release_on_inspection"
            else lab_result(decision, passed=False)
        )
        audit.record(session, ACTOR, "declaration.hold.failed", "declaration", row.id, follow.to_dict())
        why = f"stage-2 {hold.get('hold')} failed: {follow.reason}"
        self._decl(session, row, lambda d: d.hold(why, now()))

    @staticmethod
    def _notice_ids(row: ClrDeclaration) -> list[str]:
        """ClientSeqNo and EntryId as the notice schema allows them (18 characters, 0-9 A-Z)."""
        return [i for i in (row.client_seq_no, row.entry_id) if i and NOTICE_ID.fullmatch(i)]

    @staticmethod
    def _declaration_of_notice(session: Session, notice: InspectionNotice) -> ClrDeclaration | None:
        rows = list(
            session.scalars(
                select(ClrDeclaration)
                .where(ClrDeclaration.bill_no == notice.bill_no)
                .order_by(ClrDeclaration.created_at)
            )
        )
        for row in rows:
            if row.inspection and row.inspection.get("notice_id") == notice.notice_id:
                return row
        ids = set(notice.declaration_ids)
        summaries = [r for r in rows if r.kind == "summary"]  # customs' own inspections: stage 1
        return next(
            (r for r in summaries if r.client_seq_no in ids or (r.entry_id and r.entry_id in ids)), None
        )

    @staticmethod
    def _decision_of(row: ClrDeclaration) -> Decision:
        from risk.model import Lane, Outcome

        s = row.screening or {}
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

    # ----- arrival, tally, reconciliation -----------------------------------------------------
    def on_arrival(self, session: Session, sender: str, report: Manifest, message_id: str) -> None:
        decl = report.declaration
        site = decl.unloading_location.id if decl.unloading_location else ""
        boxes, applied = self._boxes(report), []
        for bill, containers in boxes.items():
            consignment = session.get(ClrConsignment, bill)
            if consignment is None:
                self._park(
                    session,
                    bill,
                    message_id,
                    "MT3101",
                    f"arrival report for bill {bill} before "
                    "its manifest: parked, applied when the manifest arrives",
                )
                continue
            if not self._arrival_site_ok(consignment, site):
                self._park(
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
            rows = {box: self._container(session, bill, box) for box, _ in containers}
            cons = repository.consignment(consignment, rows.values())
            arrived = cons.arrive(rows, now())
            repository.save_consignment(consignment, cons, rows.values())
            self._handle(session, cons.pull_events())
            for box in arrived:
                rows[box].arrival_site, rows[box].arrival_sender = site, sender
            for box, _ in containers:
                c = rows[box]
                if not c.listed:
                    self._discrepancy(
                        session,
                        consignment,
                        "unlisted_container",
                        {"container": box, "reported_by": "arrival", "site": site},
                    )
            if consignment.first_arrival_at is None:
                consignment.first_arrival_at = now()
                for summary in self._summaries(session, bill):
                    self._set_due(session, summary)
            consignment.updated_at = now()
        session.flush()
        if applied:  # a parked report reaches customs when it is applied
            outbound.to_customs(
                session, "MT3101", outbound.encoded(report), bills=applied, correlation_id=message_id
            )
        for bill in boxes:
            for summary in self._summaries(session, bill):
                self.try_release(session, summary)

    @staticmethod
    def _arrival_site_ok(consignment: ClrConsignment, site: str) -> bool:
        """Arrivals count from the manifest's terminal, or from the destination site of the bill's
        distribution application (分拨, MT6102). Without a site or a terminal there is nothing to check."""
        if not site or not consignment.terminal_code or site == consignment.terminal_code:
            return True
        return bool(consignment.destination_site) and site == consignment.destination_site

    def on_tally(self, session: Session, sender: str, report: Manifest, message_id: str) -> None:
        boxes, applied = self._boxes(report), []
        for bill, containers in boxes.items():
            consignment = session.get(ClrConsignment, bill)
            if consignment is None:
                self._park(
                    session,
                    bill,
                    message_id,
                    "MT5101",
                    f"tally report for bill {bill} before "
                    "its manifest: parked, applied when the manifest arrives",
                )
                continue
            applied.append(bill)
            for box, equipment in containers:
                c = self._container(session, bill, box)
                c.tallied_at = now()
                c.tally_packages, c.tally_gross_kg = equipment.package_quantity, equipment.gross_mass
                if not c.listed:
                    self._discrepancy(
                        session, consignment, "unlisted_container", {"container": box, "reported_by": "tally"}
                    )
            session.flush()
            self.reconcile(session, consignment)
        if applied:  # a parked report reaches customs when it is applied
            outbound.to_customs(
                session, "MT5101", outbound.encoded(report), bills=applied, correlation_id=message_id
            )

    # ----- gate-out -------------------------------------------------------------------------------
    def on_gate_out(self, session: Session, sender: str, report: GateOutReport, message_id: str) -> None:
        """The terminal's (or site's) gate-out report: each box's gated_out_at, once. A box that left
        unreleased is a discrepancy the manifest's sender and customs are told of (domain gate_out);
        a redelivered report changes nothing."""
        for gate in report.gate_outs:
            consignment = session.get(ClrConsignment, gate.bill_no)
            row = session.get(ClrContainer, (gate.bill_no, gate.container_id))
            if consignment is None or row is None:  # intake refuses these; kept visible if one slips by
                log.warning("gate-out %s: %s/%s unknown", message_id, gate.bill_no, gate.container_id)
                continue
            if self._supervised_transfer(consignment, row, gate):
                audit.record(
                    session,
                    sender,
                    "container.transferred",
                    "consignment",
                    gate.bill_no,
                    {
                        "container": gate.container_id,
                        "from": gate.site_code,
                        "to": consignment.destination_site,
                    },
                )
                continue
            cons = repository.consignment(consignment, [row])
            if not cons.gate_out(gate.container_id, aware(gate.gated_out_at) or now(), gate.site_code):
                continue  # gated out already (the same report again, or another copy)
            repository.save_consignment(consignment, cons, [row])
            row.gate_out_site = gate.site_code
            happened = cons.pull_events()
            self._handle(session, happened)
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

    @staticmethod
    def _supervised_transfer(consignment: ClrConsignment, row: ClrContainer, gate: GateOut) -> bool:
        """An unreleased box of a distributed bill leaving the terminal for its destination site moves
        under customs control (分拨): not a gate-out; the destination's gate reports that later."""
        return (
            row.released_at is None
            and bool(consignment.destination_site)
            and gate.site_code != consignment.destination_site
            and gate.site_code == consignment.terminal_code
        )

    def reconcile(self, session: Session, consignment: ClrConsignment) -> None:
        """Manifest vs tally vs declaration, once every listed container has been tallied (once)."""
        if consignment.reconciled_at is not None:
            return
        found = reconcile.tally_complete(
            consignment,
            self._containers(session, consignment.bill_no),
            self._summaries(session, consignment.bill_no),
            self.settings.weight_tolerance_pct,
        )
        if found is None:
            return
        consignment.reconciled_at = now()
        self._record_found(session, consignment, found, "tally_complete")

    def reconcile_discharge(self, session: Session, consignment: ClrConsignment) -> int:
        """The sweep's trigger once the discharge grace period is over: listed containers never
        discharged (tallied) are discrepancies. Runs once per consignment."""
        consignment.discharge_reconciled_at = now()
        found = reconcile.discharge_grace(
            self._containers(session, consignment.bill_no),
            self.settings.discharge_grace_hours,
            self.settings.weight_tolerance_pct,
        )
        self._record_found(session, consignment, found, "discharge_grace")
        return len(found)

    def _record_found(
        self, session: Session, consignment: ClrConsignment, found: reconcile.Found, trigger: str
    ) -> None:
        audit.record(
            session,
            ACTOR,
            "consignment.reconciled",
            "consignment",
            consignment.bill_no,
            {"trigger": trigger, "discrepancies": len(found)},
        )
        for kind, detail in found:
            self._discrepancy(session, consignment, kind, {**detail, "trigger": trigger})
        if found:
            self._risk_signal(session, consignment)

    def _discrepancy(
        self, session: Session, consignment: ClrConsignment, kind: str, detail: dict[str, Any]
    ) -> None:
        existing = session.scalars(
            select(ClrDiscrepancy).where(
                ClrDiscrepancy.bill_no == consignment.bill_no, ClrDiscrepancy.kind == kind
            )
        )
        cons = repository.consignment(consignment, discrepancies=[(kind, d.detail) for d in existing])
        cons.report_discrepancy(kind, detail)  # False: reported once already
        self._handle(session, cons.pull_events())

    def _risk_signal(self, session: Session, consignment: ClrConsignment) -> None:
        """A discrepancy re-screens the open summary declarations (stage 1) with the tally weight:
        a stricter outcome replaces the instruction (and orders the inspection) before release."""
        for row in self._summaries(session, consignment.bill_no):
            if row.state not in ("submitted", "registered") or row.screening is None:
                continue
            message = session.get(Message, row.message_id)
            model = self.model_of(message) if message else None
            if model is None:
                continue
            before = row.screening["outcome"]
            decision = self.screen(session, model, row, stage=1)
            if STAGE1_RANK[decision.outcome.value] > STAGE1_RANK[before]:
                audit.record(
                    session,
                    ACTOR,
                    "screening.escalated",
                    "declaration",
                    row.id,
                    {"from": before, "to": decision.outcome.value},
                )
                self._apply_stage1(session, row, consignment, decision)
            else:
                row.screening = {**row.screening, "outcome": before}

    # ----- release ----------------------------------------------------------------------------
    def try_release(self, session: Session, row: ClrDeclaration) -> bool:
        if row.kind != "summary" or row.state != "registered" or not row.entry_id or not row.screening:
            return False  # cheap checks first: no container query for most calls
        outcome = row.screening["outcome"]
        rows = self._containers(session, row.bill_no)
        decl = repository.declaration(row)
        boxes = [repository.container(c) for c in rows]
        if model.release_blockers(decl, outcome, RELEASE_TYPE, row.inspection, boxes):
            return False
        containers = [c for c in rows if c.listed]
        consignment = session.get(ClrConsignment, row.bill_no)
        stamp, boxes_no = now(), [c.container_no for c in containers]
        if consignment is not None:
            cons = repository.consignment(consignment, containers)
            cons.release(boxes_no, stamp)
            repository.save_consignment(consignment, cons, containers)
            self._handle(session, cons.pull_events())
        else:
            for c in containers:
                c.released_at = stamp
        decl.release(RELEASE_TYPE[outcome].value, boxes_no, stamp)
        repository.save_declaration(row, decl)
        self._handle(session, decl.pull_events())
        return True

    # ----- due dates and the sweep ------------------------------------------------------------
    def _set_due(self, session: Session, row: ClrDeclaration) -> None:
        consignment = session.get(ClrConsignment, row.bill_no)
        if consignment is None or row.kind != "summary":
            return
        start = (
            consignment.entry_at
            if self.settings.due_start_event == "conveyance_entry"
            else (consignment.first_arrival_at)
        )
        start = aware(start)
        if start is None:
            return
        day = start.astimezone(SHANGHAI).date() + timedelta(days=self.settings.complete_due_days)
        rule = f"{self.settings.complete_due_days} calendar days after {self.settings.due_start_event}"
        if self.settings.roll_to_working_day and not self.calendar().is_workday(day):
            day = self.calendar().next_workday(day).day
            rule += ", rolled to the next working day"
        row.due_at = datetime.combine(day, time(23, 59, 59), tzinfo=SHANGHAI)
        row.due_rule = rule

    def sweep(self, session: Session) -> dict[str, int]:
        """Reminders before the complete declaration is due; overdue ones marked late (with a notice);
        reconciliation of consignments whose discharge grace period is over; parked customs answers
        whose declaration never appeared expire."""
        counts = self._sweep_due(session)
        counts["reconciled"], counts["not_discharged"] = self._sweep_discharge(session)
        counts["expired"] = self._expire_parked(session)
        return counts

    def _sweep_discharge(self, session: Session) -> tuple[int, int]:
        at, reconciled, missing = now(), 0, 0
        candidates = list(
            session.scalars(
                select(ClrConsignment)
                .where(
                    ClrConsignment.reconciled_at.is_(None),
                    ClrConsignment.discharge_reconciled_at.is_(None),
                    ClrConsignment.manifest_message_id.is_not(None),
                )
                .order_by(ClrConsignment.bill_no)
            )
        )
        first_tally: dict[tuple[str, str], datetime | None] = {}
        for consignment in candidates:
            voyage = (consignment.voyage_no or "", consignment.vessel or "")
            if voyage not in first_tally:
                first_tally[voyage] = self._first_tally(session, consignment)
            start = reconcile.grace_start(
                aware(consignment.entry_at), first_tally[voyage], self.settings.discharge_grace_start
            )
            if not reconcile.grace_over(start, at, self.settings.discharge_grace_hours):
                continue
            reconciled += 1
            missing += self.reconcile_discharge(session, consignment)
        return reconciled, missing

    @staticmethod
    def _first_tally(session: Session, consignment: ClrConsignment) -> datetime | None:
        """First tally of any bill of the same voyage (same manifest when the voyage is not known)."""
        query = select(func.min(ClrContainer.tallied_at)).join(
            ClrConsignment, ClrConsignment.bill_no == ClrContainer.bill_no
        )
        if consignment.voyage_no:
            query = query.where(
                ClrConsignment.voyage_no == consignment.voyage_no, ClrConsignment.vessel == consignment.vessel
            )
        else:
            query = query.where(ClrConsignment.manifest_message_id == consignment.manifest_message_id)
        return aware(session.scalar(query))

    def _expire_parked(self, session: Session) -> int:
        at, count = now(), 0
        limit = timedelta(hours=self.settings.parked_answer_expiry_hours)
        rows = session.scalars(
            select(ClrParked).where(
                ClrParked.resolved_at.is_(None),
                ClrParked.message_type.in_(ANSWER_TYPES),
                ClrParked.wait_key.is_not(None),
            )
        )
        for item in rows:
            parked_at = aware(item.parked_at)
            if parked_at is None or at < parked_at + limit:
                continue
            item.resolved_at = at
            item.resolution = (
                f"expired: no declaration with {item.wait_key} appeared within "
                f"{self.settings.parked_answer_expiry_hours:g} h"
            )[:255]
            message = session.get(Message, item.message_id)
            if message is not None:
                message.status, message.updated_at = "expired", at
                message.error = item.resolution
            audit.record(
                session,
                ACTOR,
                "message.parked.expired",
                "message",
                item.message_id,
                {"reason": item.resolution},
            )
            count += 1
        return count

    def _sweep_due(self, session: Session) -> dict[str, int]:
        at, counts = now(), {"reminded": 0, "late": 0}
        rows = session.scalars(
            select(ClrDeclaration).where(
                ClrDeclaration.kind == "summary",
                ClrDeclaration.completed_by.is_(None),
                ClrDeclaration.due_at.is_not(None),
                ClrDeclaration.state.notin_(("rejected", "refused")),
            )
        )
        for row in rows:
            due = aware(row.due_at)
            assert due is not None
            body = messagebus.deadline_body(row, due)
            if row.reminded_at is None and at >= due - timedelta(days=self.settings.remind_days_before):
                row.reminded_at = at
                outbound.send_json(
                    session,
                    row.broker_uscc,
                    "CompleteDeclarationReminder",
                    body,
                    bills=[row.bill_no],
                    correlation_id=row.id,
                )
                counts["reminded"] += 1
            if not row.late and at > due:
                why = f"complete declaration overdue since {due.isoformat()}"
                self._decl(session, row, lambda d, why=why, due=due: d.mark_late(at, due, why, overdue=True))
                counts["late"] += 1  # the CompleteDeclarationOverdue notice goes out from the Late event
        return counts

    # ----- parking ----------------------------------------------------------------------------
    def _park(
        self,
        session: Session,
        bill: str,
        message_id: str,
        message_type: str,
        reason: str,
        wait_key: str | None = None,
    ) -> None:
        exists = session.scalar(
            select(ClrParked.id).where(
                ClrParked.bill_no == bill, ClrParked.message_id == message_id, ClrParked.resolved_at.is_(None)
            )
        )
        if exists is None:
            session.add(
                ClrParked(
                    bill_no=bill,
                    message_id=message_id,
                    message_type=message_type,
                    reason=reason,
                    parked_at=now(),
                    wait_key=wait_key,
                )
            )
        row = session.get(Message, message_id)
        if row is not None:
            row.status, row.updated_at = "parked", now()
        audit.record(
            session, ACTOR, "message.parked", "message", message_id, {"bill_no": bill, "reason": reason}
        )

    def _refuse_answer(self, session: Session, message_id: str, reason: str) -> None:
        """A customs answer that no longer fits what it answers (the intake check passed, the state
        moved since): recorded as rejected with the reason; nothing applied, nothing forwarded."""
        row = session.get(Message, message_id)
        if row is not None:
            row.status, row.error, row.updated_at = "rejected", reason[:20000], now()
        audit.record(session, ACTOR, "answer.refused", "message", message_id, {"reason": reason})
        log.warning("customs answer %s refused: %s", message_id, reason)

    def _park_answer(
        self, session: Session, message_id: str, message_type: str, key: str, bill: str, what: str
    ) -> None:
        """A customs answer for a declaration the hub does not know (yet): kept, visibly, until it
        appears (applied then) or the expiry passes (the sweep says why it expired)."""
        hours = self.settings.parked_answer_expiry_hours
        reason = f"{what}: parked, applied if that declaration appears within {hours:g} h, else expired"
        self._park(session, bill or "", message_id, message_type, reason, wait_key=key)

    def _unpark_key(self, session: Session, key: str) -> None:
        """Apply what waited for `key` (a declaration's ClientSeqNo / SeqNo / EntryId, a bill's
        distribution application). A message that still cannot apply is parked again."""
        parked = list(
            session.scalars(
                select(ClrParked)
                .where(ClrParked.wait_key == key, ClrParked.resolved_at.is_(None))
                .order_by(ClrParked.id)
            )
        )
        for item in parked:
            item.resolved_at, item.resolution = now(), "applied"
            message = session.get(Message, item.message_id)
            model = self.model_of(message) if message else None
            if message is None or model is None:
                continue
            message.status = "accepted"
            self.apply(session, item.message_type, message.sender or "", model, item.message_id)

    def _unpark(self, session: Session, bill: str) -> None:
        """Apply what waited for the bill's manifest."""
        parked = list(
            session.scalars(
                select(ClrParked)
                .where(
                    ClrParked.bill_no == bill,
                    ClrParked.resolved_at.is_(None),
                    ClrParked.wait_key.is_(None),
                )
                .order_by(ClrParked.id)
            )
        )
        for item in parked:
            item.resolved_at, item.resolution = now(), "applied"
            message = session.get(Message, item.message_id)
            model = self.model_of(message) if message else None
            if message is None or model is None:
                continue
            message.status = "accepted"
            if item.message_type == "DecMessage":
                row = session.get(ClrDeclaration, item.message_id)
                if row is not None and row.state == "held":
                    self._decl(session, row, lambda d: d.resume(now()))
                    self.on_declaration(session, message.sender or "", model, item.message_id)
            else:
                self.apply(session, item.message_type, message.sender or "", model, item.message_id)
            if message.status == "accepted":  # not parked again (e.g. an arrival from an unknown site)
                message.status = "processed"

    @staticmethod
    def model_of(message: Message) -> Any:
        raw = message.raw
        if message.format == "edifact":
            from messages.convert import convert

            raw = convert(raw, to="xml")[0].content
        return xmlcodec.decode(raw)

    # ----- helpers ----------------------------------------------------------------------------
    @staticmethod
    def _boxes(report: Manifest) -> dict[str, list[tuple[str, Any]]]:
        """bill -> [(container, equipment)] from a per-container report (declaration or bill level)."""
        out: dict[str, list[tuple[str, Any]]] = {}
        decl = report.declaration
        for e in decl.transport_equipment:
            bill = e.bill_no or (decl.consignments[0].bill_no if len(decl.consignments) == 1 else "")
            if bill:
                out.setdefault(bill, []).append((e.equipment_id, e))
        for cons in decl.consignments:
            out.setdefault(cons.bill_no, [])
            for e in cons.transport_equipment:
                out[cons.bill_no].append((e.equipment_id, e))
        return out

    @staticmethod
    def _container(session: Session, bill: str, box: str) -> ClrContainer:
        loaded = session.info.setdefault("workflow.containers_loaded", set())
        if in_batch(session) and bill not in loaded:
            # a batch applies many reports of the same bill: its containers in one query, kept
            loaded.add(bill)
            session.scalars(select(ClrContainer).where(ClrContainer.bill_no == bill)).all()
        c = session.get(ClrContainer, (bill, box))
        if c is None:
            c = ClrContainer(bill_no=bill, container_no=box, listed=False)
            session.add(c)
        return c

    @staticmethod
    def _containers(session: Session, bill: str) -> list[ClrContainer]:
        return list(
            session.scalars(
                select(ClrContainer).where(ClrContainer.bill_no == bill).order_by(ClrContainer.container_no)
            )
        )

    def _listed(self, session: Session, bill: str) -> list[str]:
        return [c.container_no for c in self._containers(session, bill) if c.listed]

    def _tally_total(self, session: Session, bill: str) -> Decimal | None:
        tallied = [c for c in self._containers(session, bill) if c.tally_gross_kg is not None]
        return sum((Decimal(c.tally_gross_kg) for c in tallied), Decimal(0)) if tallied else None

    @staticmethod
    def _summaries(session: Session, bill: str) -> list[ClrDeclaration]:
        return list(
            session.scalars(
                select(ClrDeclaration)
                .where(ClrDeclaration.bill_no == bill, ClrDeclaration.kind == "summary")
                .order_by(ClrDeclaration.created_at)
            )
        )

    # ----- aggregates: load, one domain method, write back, handle the events --------------------
    def _decl(self, session: Session, row: ClrDeclaration, act: Callable[[model.Declaration], Any]) -> bool:
        """Every declaration state change goes through here. An input that would make a transition the
        table does not allow (a customs answer for a declaration already closed) is logged and audited,
        not applied; False then."""
        decl = repository.declaration(row)
        try:
            act(decl)
        except model.IllegalTransition as exc:
            log.warning("%s", exc)
            audit.record(
                session,
                ACTOR,
                "declaration.transition.refused",
                "declaration",
                row.id,
                {"from": exc.source, "to": exc.target},
            )
            return False
        repository.save_declaration(row, decl)
        self._handle(session, decl.pull_events())
        return True

    def _consignment(self, row: ClrConsignment, act: Callable[[model.Consignment], Any]) -> None:
        cons = repository.consignment(row)
        act(cons)
        repository.save_consignment(row, cons)

    def _ordered(self, session: Session, row: ClrDeclaration, inspection: dict[str, Any]) -> None:
        """An inspection or stage-2 hold instruction: kept on the row, an InspectionOrdered event."""
        row.inspection = inspection
        self._decl(
            session,
            row,
            lambda d: d.order_inspection(
                str(inspection["ordered_by"]),
                str(inspection["instruction"]),
                inspection.get("location"),
                int(inspection.get("stage", 1)),
                bool(inspection["needs_result"]),
            ),
        )

    @staticmethod
    def _handle(session: Session, happened: list[events.Event]) -> None:
        messagebus.handle(session, happened)
