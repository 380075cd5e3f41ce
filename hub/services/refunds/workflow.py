"""The refund state machine: filing, tax stage events, bank credits. Every change is a timestamped
RefundTransition written in the same transaction as the case update, the audit entry and any outbox
message it causes.

申报 filed -> 受理 accepted -> 审核 reviewed -> 审批 approved -> 退库 treasury_paid -> 到账 credited;
returned (退回补正, from filed/accepted/reviewed; a corrected re-filing goes back to filed) and
rejected (不予退税) from any open state."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.bus.base import EVENT_EXCHANGE
from hub.clock import SHANGHAI, now
from hub.db import audit
from hub.db.models import Message, Party
from hub.db.outbox import enqueue
from hub.db.refund_tables import (
    RefundCase,
    RefundDeclaration,
    RefundInvoice,
    RefundTransition,
)
from hub.services.refunds.clocks import TERMINAL, aware
from hub.services.refunds.filing import Filing, FilingInvalid, Problem
from refunds import DeadlineRequest, SlaProfile, WorkingCalendar, compute_deadline

ORDER = {"filed": 0, "accepted": 1, "reviewed": 2, "approved": 3, "treasury_paid": 4, "credited": 5}
TIME_COLUMN = {
    "accepted": "accepted_at",
    "reviewed": "reviewed_at",
    "approved": "approved_at",
    "treasury_paid": "treasury_at",
    "credited": "credited_at",
}
SUBMIT_KEY = "refund.submit"
PAY_KEY = "refund.pay"


# Application numbers are the exporter's own, so they are scoped to it: a number that another exporter
# already uses is kept under a key with a suffix derived from the exporter's USCC. Nobody can squat
# another's number, and no answer says that a number is taken.
SCOPE_MARK = "~"
MAX_NUMBER = 25  # the case key (String(32)) must hold number + "~" + 6 hex characters


def scoped_key(number: str, uscc: str) -> str:
    return f"{number}{SCOPE_MARK}{hashlib.sha256(uscc.encode()).hexdigest()[:6]}"


def exporter_number(key: str) -> str:
    """The application number as its exporter filed it (the case key without its scope suffix)."""
    return key.split(SCOPE_MARK, 1)[0]


def case_key_of(session: Session, number: str, uscc: str) -> str | None:
    """The key of `uscc`'s own case with this number; None when it has none (whoever else has one)."""
    if SCOPE_MARK in number:
        return None
    for key in (number, scoped_key(number, uscc)):
        case = session.get(RefundCase, key)
        if case is not None and case.exporter_uscc == uscc:
            return key
    return None


def cases_numbered(session: Session, number: str, exporter: str | None = None) -> list[RefundCase]:
    """Every case whose exporter filed it as `number` (one per exporter), optionally one exporter's."""
    if SCOPE_MARK in number:
        return []
    query = select(RefundCase).where(
        (RefundCase.application_no == number)
        | RefundCase.application_no.startswith(number + SCOPE_MARK, autoescape=True)
    )
    if exporter:
        query = query.where(RefundCase.exporter_uscc == exporter)
    return [c for c in session.scalars(query) if exporter_number(c.application_no) == number]


def case_for_tax(session: Session, number: str, tax_case_no: str | None) -> RefundCase | None:
    """The case a tax answer is about: the tax service sees the exporter's own number (never the
    internal key), so its case number decides, or the number when only one exporter uses it."""
    if tax_case_no:
        case = session.scalar(select(RefundCase).where(RefundCase.tax_case_no == tax_case_no))
        if case is not None and exporter_number(case.application_no) == number:
            return case
    found = [c for c in cases_numbered(session, number) if not tax_case_no or not c.tax_case_no]
    return found[0] if len(found) == 1 else None


def new_case_key(session: Session, number: str, uscc: str) -> str:
    return number if session.get(RefundCase, number) is None else scoped_key(number, uscc)


class FilingConflict(Exception):
    """Same application number already filed with other content (or by another exporter)."""


@dataclass(frozen=True, slots=True)
class Receipt:
    application_no: str
    status: str
    deadline: datetime
    provisional: bool
    duplicate: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "application_no": self.application_no,
            "status": self.status,
            "deadline": aware(self.deadline).isoformat(),
            "provisional": self.provisional,
            "duplicate": self.duplicate,
        }


def local(moment: datetime) -> datetime:
    return aware(moment).astimezone(SHANGHAI)


def archive(session: Session, raw: bytes, channel: str, sender: str | None, message_type: str) -> Message:
    """Archive the raw bytes (with their SHA-256) in the message table."""
    stamp = now()
    row = Message(
        id=str(uuid.uuid4()),
        direction="in",
        channel=channel,
        format="xml" if raw.lstrip().startswith(b"<") else "json",
        message_type=message_type,
        sender=sender,
        receiver="hub",
        sha256=hashlib.sha256(raw).hexdigest(),
        size=len(raw),
        raw=raw,
        received_at=stamp,
        updated_at=stamp,
    )
    session.add(row)
    return row


def add_transition(
    session: Session,
    case: RefundCase,
    to_status: str,
    at: datetime,
    source: str,
    event_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> RefundTransition:
    at = local(at)
    row = RefundTransition(
        application_no=case.application_no,
        from_status=getattr(case, "status", None),
        to_status=to_status,
        at=at,
        recorded_at=now(),
        source=source,
        event_id=event_id,
        detail=detail or {},
    )
    session.add(row)
    case.status = to_status
    column = TIME_COLUMN.get(to_status)
    if column and getattr(case, column) is None:
        setattr(case, column, at)
    if to_status in TERMINAL:
        case.closed_at = at
    case.updated_at = now()
    audit.record(session, source, f"refund.{to_status}", "refund_case", case.application_no, detail or {})
    return row


def transitions_of(session: Session, application_no: str) -> list[RefundTransition]:
    return list(
        session.scalars(
            select(RefundTransition)
            .where(RefundTransition.application_no == application_no)
            .order_by(RefundTransition.id)
        )
    )


def _deadline(case: RefundCase, start: datetime, profile: SlaProfile, calendar: WorkingCalendar) -> None:
    result = compute_deadline(
        DeadlineRequest(case.enterprise_class, local(start), case.ftz, case.reputable), profile, calendar
    )
    case.deadline = result.deadline
    case.deadline_rule = result.rule
    case.provisional = result.provisional


def _replace_lines(session: Session, case: RefundCase, filing: Filing) -> None:
    for model in (RefundDeclaration, RefundInvoice):
        for row in session.scalars(select(model).where(model.application_no == case.application_no)):
            session.delete(row)
    session.flush()
    for d in filing.declarations:
        customs = session.scalar(
            select(Message.id).where(Message.entry_id == d.entry_id, Message.direction == "in").limit(1)
        )
        session.add(
            RefundDeclaration(
                application_no=case.application_no,
                entry_id=d.entry_id,
                export_date=d.export_date.isoformat() if d.export_date else None,
                fob_amount_cny=f"{d.fob_amount_cny:.2f}",
                refund_amount_cny=f"{d.refund_amount_cny:.2f}",
                customs_message_id=customs,
            )
        )
    for inv in filing.invoices:
        session.add(
            RefundInvoice(
                application_no=case.application_no,
                invoice_no=inv.invoice_no,
                amount=f"{inv.amount:.2f}",
                tax_amount=f"{inv.tax_amount:.2f}",
            )
        )


def content_hash(filing: Filing) -> str:
    return hashlib.sha256(repr(filing).encode()).hexdigest()


def file_application(
    session: Session,
    party: Party,
    filing: Filing,
    message_id: str,
    profile: SlaProfile,
    calendar: WorkingCalendar,
) -> Receipt:
    """Record a filing (new case, or corrected re-filing of a returned one) and queue its submission."""
    problems: list[Problem] = []
    if filing.exporter_uscc and filing.exporter_uscc != party.uscc:
        problems.append(Problem("/RefundApplication/ExporterUscc", "is not the authenticated exporter"))
    if party.refund_class not in (1, 2, 3, 4):
        problems.append(Problem("/", f"exporter {party.uscc} has no refund class (1-4) on record"))
    if party.refund_class == 4 and not filing.fx_receipt_proof:
        problems.append(Problem("/RefundApplication/FxReceiptProof", "required for class 4 exporters"))
    number = filing.application_no
    if not re.fullmatch(rf"[A-Za-z0-9-]{{1,{MAX_NUMBER}}}", number, re.ASCII):
        problems.append(
            Problem("/RefundApplication/ApplicationNo", f"{number!r}: 1-{MAX_NUMBER} of A-Z, a-z, 0-9 and -")
        )
    if problems:
        raise FilingInvalid(problems)
    digest = content_hash(filing)
    key = case_key_of(session, number, party.uscc)
    case = session.get(RefundCase, key, with_for_update=True) if key is not None else None
    stamp = now()
    if case is not None:
        if case.content_sha256 == digest:
            return Receipt(number, case.status, case.deadline, case.provisional, duplicate=True)
        if case.status != "returned":
            raise FilingConflict(
                f"application {filing.application_no} is already filed ({case.status}); "
                "only a case returned for correction can be filed again"
            )
        case.content_sha256, case.message_id = digest, message_id
        case.account_no, case.fx_receipt_proof = filing.account_no, filing.fx_receipt_proof
        case.refund_amount_cny = f"{filing.refund_total:.2f}"
        _replace_lines(session, case, filing)
        add_transition(
            session, case, "filed", stamp, "filing", detail={"message_id": message_id, "refiled": True}
        )
    else:
        case = RefundCase(
            application_no=new_case_key(session, number, party.uscc),
            exporter_party_id=party.id,
            exporter_uscc=party.uscc,
            exporter_name=party.name,
            enterprise_class=int(party.refund_class or 0),
            ftz=bool(party.ftz),
            reputable=bool(party.reputable),
            tax_office_level=party.tax_office_level,
            account_no=filing.account_no,
            refund_amount_cny=f"{filing.refund_total:.2f}",
            fx_receipt_proof=filing.fx_receipt_proof,
            content_sha256=digest,
            message_id=message_id,
            profile=profile.name,
            status="filed",
            filed_at=local(stamp),
            last_light=None,
            sweep_done=False,
            updated_at=stamp,
        )
        # Until the tax office accepts, the deadline is estimated from the filing time (acceptance the
        # same moment); it is recomputed from the real acceptance time when 受理 arrives.
        _deadline(case, stamp, profile, calendar)
        session.add(case)
        session.flush()
        _replace_lines(session, case, filing)
        first = add_transition(session, case, "filed", stamp, "filing", detail={"message_id": message_id})
        first.from_status = None
    enqueue(
        session,
        EVENT_EXCHANGE,
        f"{SUBMIT_KEY}.{case.application_no}",
        json.dumps({"application_no": case.application_no, "content_sha256": digest}).encode(),
        message_id=f"submit:{case.application_no}:{digest[:16]}",  # outbox ids are <= 64 chars
        content_type="application/json",
    )
    return Receipt(number, case.status, case.deadline, case.provisional)


def apply_tax_outcome(
    session: Session,
    case: RefundCase,
    event: str,
    at: datetime,
    source_id: str | None,
    profile: SlaProfile,
    calendar: WorkingCalendar,
    *,
    tax_case_no: str | None = None,
    reasons: list[dict[str, Any]] | None = None,
    refund_amount: Decimal | None = None,
    payment_order_no: str | None = None,
) -> bool:
    """Apply one tax-side outcome (ACCEPTED, REVIEWED, APPROVED, TREASURY_PAID, RETURNED, REJECTED).

    Returns False when it does not change the case (a duplicate or a stale event)."""
    if tax_case_no and not case.tax_case_no:
        case.tax_case_no = tax_case_no
    target = {
        "ACCEPTED": "accepted",
        "REVIEWED": "reviewed",
        "APPROVED": "approved",
        "TREASURY_PAID": "treasury_paid",
        "RETURNED": "returned",
        "REJECTED": "rejected",
    }[event]
    if case.status in TERMINAL or case.status == target:
        return False
    detail: dict[str, Any] = {"tax_case_no": case.tax_case_no, "reasons": reasons or []}
    if target in ORDER:
        if case.status == "returned" or ORDER[target] <= ORDER.get(case.status, -1):
            return False
    elif target == "returned" and case.status not in ("filed", "accepted", "reviewed"):
        return False
    if target == "accepted":
        _deadline(case, at, profile, calendar)  # from the real acceptance time
    if target == "treasury_paid":
        case.payment_order_no = payment_order_no
        case.paid_amount_cny = f"{refund_amount:.2f}" if refund_amount is not None else case.refund_amount_cny
        detail["payment_order_no"] = payment_order_no
        enqueue(
            session,
            EVENT_EXCHANGE,
            f"{PAY_KEY}.{case.application_no}",
            json.dumps({"application_no": case.application_no}).encode(),
            message_id=f"pay:{case.application_no}:{hashlib.sha256(str(payment_order_no).encode()).hexdigest()[:16]}",
            content_type="application/json",
        )
    add_transition(session, case, target, at, "tax", source_id, detail)
    return True


def apply_bank_credit(
    session: Session, case: RefundCase, status: str, at: datetime, event_id: str, detail: dict[str, Any]
) -> bool:
    """到账 on CREDITED; a refusal is recorded in the audit log and leaves the case at treasury_paid."""
    if case.status != "treasury_paid":
        return False
    if status != "CREDITED":
        audit.record(session, "bank", "refund.credit_refused", "refund_case", case.application_no, detail)
        return False
    case.bank_reference = detail.get("bank_reference")
    add_transition(session, case, "credited", at, "bank", event_id, detail)
    return True
