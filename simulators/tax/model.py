"""The tax simulator's domain vocabulary: applications, cases, stage events, steering."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    ACCEPTED = "ACCEPTED"
    RETURNED = "RETURNED"  # 退回补正
    REJECTED = "REJECTED"  # 不予退税


class Stage(StrEnum):
    ACCEPTANCE = "ACCEPTANCE"  # 受理
    REVIEW = "REVIEW"  # 审核
    APPROVAL = "APPROVAL"  # 审批
    TREASURY = "TREASURY"  # 退库
    DONE = "DONE"


class CaseState(StrEnum):
    IN_PROGRESS = "IN_PROGRESS"
    REFUNDED = "REFUNDED"
    RETURNED = "RETURNED"
    REJECTED = "REJECTED"


class EventType(StrEnum):
    ACCEPTED = "ACCEPTED"  # ACCEPTANCE stage done, review starts
    REVIEWED = "REVIEWED"
    APPROVED = "APPROVED"
    TREASURY_PAID = "TREASURY_PAID"  # payment order issued to the bank
    RETURNED = "RETURNED"
    REJECTED = "REJECTED"


@dataclass(frozen=True)
class Reason:
    code: str
    message: str
    reference: str | None = None


@dataclass(frozen=True)
class DeclarationLine:
    entry_id: str
    fob_amount_cny: Decimal
    refund_amount_cny: Decimal
    export_date: date | None = None


@dataclass(frozen=True)
class InvoiceLine:
    invoice_no: str
    amount: Decimal
    tax_amount: Decimal


@dataclass(frozen=True)
class Application:
    application_no: str
    exporter_uscc: str
    enterprise_class: int
    ftz: bool
    reputable: bool
    declarations: tuple[DeclarationLine, ...]
    invoices: tuple[InvoiceLine, ...]
    fx_receipt_proof: str | None
    filed_at: datetime

    def fingerprint(self) -> str:
        """Content hash: decides replay (same) versus conflict/correction (different)."""
        canonical = json.dumps(asdict(self), sort_keys=True, default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()

    @property
    def refund_total(self) -> Decimal:
        return sum((d.refund_amount_cny for d in self.declarations), Decimal("0.00"))


@dataclass(frozen=True)
class CustomsExport:
    """What customs transmitted to tax for one export declaration (报关单电子信息)."""

    entry_id: str
    exporter_uscc: str
    fob_amount_cny: Decimal
    export_date: date | None = None


@dataclass(frozen=True)
class StageDurations:
    review: timedelta
    approval: timedelta
    treasury: timedelta

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StageDurations:
        missing = [k for k in ("review", "approval", "treasury") if k not in data]
        if missing:
            raise ValueError(f"durations need review, approval, treasury seconds; missing {missing}")
        values = {k: float(data[k]) for k in ("review", "approval", "treasury")}
        if any(v < 0 for v in values.values()):
            raise ValueError("durations must be >= 0 seconds")
        return cls(**{k: timedelta(seconds=v) for k, v in values.items()})

    def to_json(self) -> dict[str, float]:
        return {
            "review": self.review.total_seconds(),
            "approval": self.approval.total_seconds(),
            "treasury": self.treasury.total_seconds(),
        }


H = timedelta(hours=1)
D = timedelta(days=1)
# Simulated calendar time per stage. Policy limits are in working days (5/10/15/20 WD for classes
# 1-4, Class 1 "within 2 WD" locally); the hub computes SLAs, the simulator only needs plausible spreads.
DEFAULT_DURATIONS: dict[int, StageDurations] = {
    1: StageDurations(review=4 * H, approval=4 * H, treasury=8 * H),
    2: StageDurations(review=2 * D, approval=2 * D, treasury=1 * D),
    3: StageDurations(review=4 * D, approval=3 * D, treasury=1 * D),
    4: StageDurations(review=8 * D, approval=4 * D, treasury=2 * D),
}
# FTZ + reputable (信誉好) enterprises of class 1/2: same-day filing-to-credit pilot.
DEFAULT_FAST_TRACK = StageDurations(review=1 * H, approval=1 * H, treasury=1 * H)


class FailKind(StrEnum):
    FAULT = "fault"  # SOAP Server fault, HTTP 500
    HANG = "hang"  # hold the call past the client's timeout


@dataclass
class Steering:
    """How the simulator treats one application (from its number's prefix or the control API)."""

    outcome: Outcome = Outcome.ACCEPTED
    at_review: bool = False  # RETURNED/REJECTED only when review completes (asynchronous)
    slow_factor: float = 1.0
    fail_first: int = 0
    fail_kind: FailKind = FailKind.FAULT
    no_push: bool = False
    reasons: tuple[Reason, ...] = ()
    source: str = "default"


def steering_from_prefix(application_no: str) -> Steering:
    """CDS-stub style steering table (docs/simulators.md): first letter selects the scenario."""
    head, rest = application_no[:1].upper(), application_no[1:]
    second = rest[:1].upper()
    digit = int(second) if second.isdigit() else None
    if head == "R":
        return Steering(Outcome.REJECTED, at_review=second == "V", source="prefix R")
    if head == "C":
        return Steering(Outcome.RETURNED, at_review=second == "V", source="prefix C")
    if head == "S" and digit is not None:
        return Steering(slow_factor=float(digit or 10), source=f"prefix S{digit}")
    if head == "F":
        return Steering(fail_first=digit if digit else 1, source="prefix F")
    if head == "H":
        return Steering(fail_first=digit if digit else 1, fail_kind=FailKind.HANG, source="prefix H")
    if head == "N":
        return Steering(no_push=True, source="prefix N")
    return Steering()


@dataclass
class StageEvent:
    seq: int
    event_id: str
    application_no: str
    tax_case_no: str
    event_type: EventType
    stage: Stage
    occurred_at: datetime
    reasons: tuple[Reason, ...] = ()
    refund_amount_cny: Decimal | None = None
    payment_order_no: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The push payload (callback format `json`), also the shape documented for the hub."""
        return {
            "type": "tax.stage_event",
            "source": "tax-sim",
            "seq": self.seq,
            "eventId": self.event_id,
            "applicationNo": self.application_no,
            "taxCaseNo": self.tax_case_no,
            "eventType": self.event_type.value,
            "stage": self.stage.value,
            "occurredAt": self.occurred_at.isoformat(),
            "reasons": [asdict(r) for r in self.reasons],
            "refundAmountCny": None if self.refund_amount_cny is None else str(self.refund_amount_cny),
            "paymentOrderNo": self.payment_order_no,
        }


@dataclass
class ScheduledStep:
    due_at: datetime
    event_type: EventType
    stage: Stage
    reasons: tuple[Reason, ...] = ()


@dataclass
class Case:
    tax_case_no: str
    application: Application
    fingerprint: str
    received_at: datetime
    outcome: Outcome
    reasons: tuple[Reason, ...]
    steering: Steering
    state: CaseState = CaseState.IN_PROGRESS
    current_stage: Stage = Stage.ACCEPTANCE
    attempts: int = 1
    history: list[StageEvent] = field(default_factory=list)
    plan: list[ScheduledStep] = field(default_factory=list)
    payment_order_no: str | None = None
    calls_failed: int = 0

    @property
    def next_due(self) -> datetime | None:
        return self.plan[0].due_at if self.plan else None

    def summary(self) -> dict[str, Any]:
        return {
            "taxCaseNo": self.tax_case_no,
            "applicationNo": self.application.application_no,
            "enterpriseClass": self.application.enterprise_class,
            "state": self.state.value,
            "currentStage": self.current_stage.value,
            "outcome": self.outcome.value,
            "receivedAt": self.received_at.isoformat(),
            "attempts": self.attempts,
            "nextStageDueAt": self.next_due.isoformat() if self.next_due else None,
            "steering": self.steering.source,
            "events": len(self.history),
        }
