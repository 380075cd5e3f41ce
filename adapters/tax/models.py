"""Typed values exchanged with the tax refund service (independent of zeep and of the simulator)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum


class SubmissionOutcome(StrEnum):
    ACCEPTED = "ACCEPTED"  # 受理
    RETURNED = "RETURNED"  # 退回补正: correct and file again with the same application_no
    REJECTED = "REJECTED"  # 不予退税


class Stage(StrEnum):
    ACCEPTANCE = "ACCEPTANCE"  # 受理
    REVIEW = "REVIEW"  # 审核
    APPROVAL = "APPROVAL"  # 审批
    TREASURY = "TREASURY"  # 退库
    DONE = "DONE"


class CaseState(StrEnum):
    IN_PROGRESS = "IN_PROGRESS"
    REFUNDED = "REFUNDED"  # treasury paid: a payment order went to the bank
    RETURNED = "RETURNED"
    REJECTED = "REJECTED"


class EventType(StrEnum):
    ACCEPTED = "ACCEPTED"  # acceptance stage completed
    REVIEWED = "REVIEWED"  # review stage completed
    APPROVED = "APPROVED"  # approval stage completed
    TREASURY_PAID = "TREASURY_PAID"  # treasury stage completed; carries payment order no + amount
    RETURNED = "RETURNED"
    REJECTED = "REJECTED"


@dataclass(frozen=True)
class DeclarationItem:
    entry_id: str  # 18-digit customs declaration number
    fob_amount_cny: Decimal
    refund_amount_cny: Decimal
    export_date: date | None = None


@dataclass(frozen=True)
class InvoiceItem:
    invoice_no: str
    amount: Decimal
    tax_amount: Decimal


@dataclass(frozen=True)
class RefundApplication:
    application_no: str  # the idempotency key: resubmitting the same content returns the same case
    exporter_uscc: str
    enterprise_class: int  # 1-4 (出口企业分类管理)
    ftz: bool
    reputable: bool
    declarations: tuple[DeclarationItem, ...]
    invoices: tuple[InvoiceItem, ...]
    filed_at: datetime
    fx_receipt_proof: str | None = None  # required for class 4


@dataclass(frozen=True)
class Reason:
    code: str
    message: str
    reference: str | None = None


@dataclass(frozen=True)
class SubmissionResult:
    application_no: str
    tax_case_no: str
    outcome: SubmissionOutcome
    received_at: datetime
    replayed: bool  # True when the service had this exact application already (a retry/duplicate)
    reasons: tuple[Reason, ...] = ()

    def raise_for_outcome(self) -> SubmissionResult:
        """Raise TaxRejected / TaxReturnedForCorrection unless accepted; return self otherwise."""
        from adapters.tax.errors import TaxRejected, TaxReturnedForCorrection

        if self.outcome is SubmissionOutcome.REJECTED:
            raise TaxRejected(self)
        if self.outcome is SubmissionOutcome.RETURNED:
            raise TaxReturnedForCorrection(self)
        return self


@dataclass(frozen=True)
class StageEvent:
    seq: int  # dense, increasing per service: use as the pull cursor
    event_id: str  # unique: use for inbox de-duplication (push and pull may both deliver it)
    application_no: str
    tax_case_no: str
    event_type: EventType
    stage: Stage
    occurred_at: datetime  # simulated/agency time the stage completed
    reasons: tuple[Reason, ...] = ()
    refund_amount_cny: Decimal | None = None
    payment_order_no: str | None = None


@dataclass(frozen=True)
class RefundStatus:
    application_no: str
    tax_case_no: str
    enterprise_class: int
    current_stage: Stage  # the stage in progress (DONE once refunded)
    state: CaseState
    refund_amount_cny: Decimal
    history: tuple[StageEvent, ...]
    next_stage_due_at: datetime | None = None
    payment_order_no: str | None = None


@dataclass(frozen=True)
class EventPage:
    events: tuple[StageEvent, ...]
    next_cursor: int
    more: bool
