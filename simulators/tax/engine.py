"""The simulated tax authority: checks an application, opens (or replays) its case, plans the stage
timeline on the simulator clock, fires due stage events (stored for pull, handed to the push sink)."""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Iterable
from dataclasses import replace
from decimal import Decimal
from enum import StrEnum
from typing import Any

from simulators.common.clock import SimClock
from simulators.common.delivery import EventSink, NullSink
from simulators.tax.model import (
    DEFAULT_DURATIONS,
    DEFAULT_FAST_TRACK,
    Application,
    Case,
    CaseState,
    CustomsExport,
    EventType,
    Outcome,
    Reason,
    ScheduledStep,
    Stage,
    StageDurations,
    StageEvent,
    Steering,
    steering_from_prefix,
)

_STAGE_AFTER = {
    EventType.ACCEPTED: Stage.REVIEW,
    EventType.REVIEWED: Stage.APPROVAL,
    EventType.APPROVED: Stage.TREASURY,
    EventType.TREASURY_PAID: Stage.DONE,
}


class CustomsMode(StrEnum):
    PERMISSIVE = "permissive"  # unknown EntryIds pass; known ones are still compared
    STRICT = "strict"  # every EntryId must be in the loaded customs export data


class ApplicationConflict(Exception):
    """Same applicationNo, different content, while the case is not open for correction."""


class CaseNotFound(Exception):
    pass


class TaxAuthority:
    def __init__(
        self,
        clock: SimClock,
        sink: EventSink | None = None,
        *,
        durations: dict[int, StageDurations] | None = None,
        fast_track: StageDurations | None = None,
        customs_mode: CustomsMode = CustomsMode.PERMISSIVE,
        prefix_steering: bool = True,
    ) -> None:
        self.clock = clock
        self.sink: EventSink = sink or NullSink()
        self.durations = dict(durations or DEFAULT_DURATIONS)
        self.fast_track = fast_track or DEFAULT_FAST_TRACK
        self.customs_mode = customs_mode
        self.prefix_steering = prefix_steering
        self._lock = threading.RLock()
        # by (exporterUscc, applicationNo): a number is the exporter's own, two exporters may share one
        self._cases: dict[tuple[str, str], Case] = {}
        self._by_case_no: dict[str, Case] = {}
        self._events: list[StageEvent] = []
        self._customs: dict[str, CustomsExport] = {}
        self._overrides: dict[str, Steering] = {}
        self._case_seq = itertools.count(1)
        self._event_seq = itertools.count(1)
        self._call_counts: dict[str, int] = {}

    # ----- tester configuration -------------------------------------------------------------------
    def load_customs(self, exports: Iterable[CustomsExport]) -> int:
        with self._lock:
            count = 0
            for export in exports:
                self._customs[export.entry_id] = export
                count += 1
            return count

    def customs_exports(self) -> list[CustomsExport]:
        with self._lock:
            return list(self._customs.values())

    def clear_customs(self) -> int:
        with self._lock:
            count = len(self._customs)
            self._customs.clear()
            return count

    def set_override(self, application_no: str, steering: Steering) -> None:
        with self._lock:
            self._overrides[application_no] = replace(steering, source="control API")

    def overrides(self) -> dict[str, Steering]:
        with self._lock:
            return dict(self._overrides)

    def clear_overrides(self) -> int:
        with self._lock:
            count = len(self._overrides)
            self._overrides.clear()
            return count

    def steering_for(self, application_no: str) -> Steering:
        with self._lock:
            if application_no in self._overrides:
                return self._overrides[application_no]
        return steering_from_prefix(application_no) if self.prefix_steering else Steering()

    # ----- failure steering per application ---------------------------------------------------------
    def call_failure(self, application_no: str) -> Steering | None:
        """Count a call for this application; return its steering if this call must fail (F/H)."""
        steering = self.steering_for(application_no)
        if steering.fail_first <= 0:
            return None
        with self._lock:
            done = self._call_counts.get(application_no, 0)
            self._call_counts[application_no] = done + 1
            return steering if done < steering.fail_first else None

    # ----- operations -----------------------------------------------------------------------------
    def submit(self, application: Application) -> tuple[Case, bool]:
        """Return (case, replayed). Idempotent on the exporter's applicationNo: identical content ->
        same case."""
        fingerprint = application.fingerprint()
        with self._lock:
            self.tick()
            key = (application.exporter_uscc, application.application_no)
            existing = self._cases.get(key)
            if existing is not None:
                if existing.fingerprint == fingerprint:
                    return existing, True
                if existing.state is not CaseState.RETURNED:
                    raise ApplicationConflict(
                        f"applicationNo {application.application_no} was already filed with different "
                        f"content (case {existing.tax_case_no}, state {existing.state.value}); only a "
                        "case returned for correction (退回补正) accepts corrected content"
                    )
                self._refile(existing, application, fingerprint)
                return existing, False
            now = self.clock.now()
            case_no = f"TX{now:%Y%m%d}{next(self._case_seq):06d}"
            steering = self.steering_for(application.application_no)
            case = Case(case_no, application, fingerprint, now, Outcome.ACCEPTED, (), steering)
            self._cases[key] = case
            self._by_case_no[case_no] = case
            self._decide(case)
            return case, False

    def _refile(self, case: Case, application: Application, fingerprint: str) -> None:
        case.application, case.fingerprint = application, fingerprint
        case.attempts += 1
        case.received_at = self.clock.now()
        self._decide(case)

    def _decide(self, case: Case) -> None:
        reasons = self._check(case)
        steering = case.steering
        steered = self._steered_outcome(case)
        now = case.received_at
        if steered is not None and not steering.at_review:
            reasons = reasons + (steering.reasons or (self._steered_reason(steered),))
            outcome = steered
        elif reasons:
            outcome = Outcome.RETURNED
        else:
            outcome = Outcome.ACCEPTED
        case.outcome, case.reasons = outcome, reasons
        case.plan = []
        if outcome is Outcome.ACCEPTED:
            case.state, case.current_stage = CaseState.IN_PROGRESS, Stage.REVIEW
            self._emit(case, EventType.ACCEPTED, Stage.ACCEPTANCE, now)
            case.plan = self._plan(case)
        else:
            event_type = EventType.RETURNED if outcome is Outcome.RETURNED else EventType.REJECTED
            case.state = CaseState.RETURNED if outcome is Outcome.RETURNED else CaseState.REJECTED
            case.current_stage = Stage.ACCEPTANCE
            self._emit(case, event_type, Stage.ACCEPTANCE, now, reasons)

    @staticmethod
    def _steered_outcome(case: Case) -> Outcome | None:
        """Steered RETURNED applies to the first filing only, so the correction loop can be tested."""
        outcome = case.steering.outcome
        if outcome is Outcome.REJECTED or (outcome is Outcome.RETURNED and case.attempts == 1):
            return outcome
        return None

    @staticmethod
    def _steered_reason(outcome: Outcome) -> Reason:
        if outcome is Outcome.REJECTED:
            return Reason("STEERED_REJECTION", "不予退税: rejected by simulator steering")
        return Reason("STEERED_RETURN", "退回补正: returned for correction by simulator steering")

    def _durations_for(self, application: Application) -> StageDurations:
        if application.ftz and application.reputable and application.enterprise_class in (1, 2):
            return self.fast_track
        return self.durations[application.enterprise_class]

    def _plan(self, case: Case) -> list[ScheduledStep]:
        d = self._durations_for(case.application)
        factor = case.steering.slow_factor
        review_at = case.received_at + d.review * factor
        steering, steered = case.steering, self._steered_outcome(case)
        if steering.at_review and steered is not None:
            kind = EventType.RETURNED if steered is Outcome.RETURNED else EventType.REJECTED
            return [
                ScheduledStep(
                    review_at, kind, Stage.REVIEW, steering.reasons or (self._steered_reason(steered),)
                )
            ]
        approval_at = review_at + d.approval * factor
        return [
            ScheduledStep(review_at, EventType.REVIEWED, Stage.REVIEW),
            ScheduledStep(approval_at, EventType.APPROVED, Stage.APPROVAL),
            ScheduledStep(approval_at + d.treasury * factor, EventType.TREASURY_PAID, Stage.TREASURY),
        ]

    def _check(self, case: Case) -> tuple[Reason, ...]:
        """All reasons at once, like a real pre-review (预审) listing everything to correct."""
        app = case.application
        reasons: list[Reason] = []
        if app.enterprise_class == 4 and not app.fx_receipt_proof:
            reasons.append(
                Reason(
                    "FX_RECEIPT_PROOF_MISSING",
                    "Class 4 exporters must provide FX receipt vouchers (收汇凭证)",
                )
            )
        seen_entries: set[str] = set()
        for line in app.declarations:
            if line.entry_id in seen_entries:
                reasons.append(
                    Reason(
                        "DUPLICATE_ENTRY_IN_APPLICATION",
                        "the same declaration is listed twice",
                        line.entry_id,
                    )
                )
            seen_entries.add(line.entry_id)
            export = self._customs.get(line.entry_id)
            if export is None:
                if self.customs_mode is CustomsMode.STRICT:
                    reasons.append(
                        Reason(
                            "DECLARATION_NOT_FOUND", "no customs export data for this EntryId", line.entry_id
                        )
                    )
                continue
            if export.exporter_uscc != app.exporter_uscc:
                reasons.append(
                    Reason(
                        "DECLARATION_EXPORTER_MISMATCH",
                        f"customs data names exporter {export.exporter_uscc}",
                        line.entry_id,
                    )
                )
            if export.fob_amount_cny != line.fob_amount_cny:
                reasons.append(
                    Reason(
                        "DECLARATION_AMOUNT_MISMATCH",
                        f"declared FOB {line.fob_amount_cny} CNY, customs data {export.fob_amount_cny} CNY",
                        line.entry_id,
                    )
                )
            if line.refund_amount_cny > line.fob_amount_cny:
                reasons.append(
                    Reason("REFUND_EXCEEDS_FOB", "refund claimed exceeds FOB value", line.entry_id)
                )
        for other in self._cases.values():
            if other is case or other.state in (CaseState.RETURNED, CaseState.REJECTED):
                continue
            for line in app.declarations:
                if any(d.entry_id == line.entry_id for d in other.application.declarations):
                    reasons.append(
                        Reason(
                            "DUPLICATE_CLAIM",
                            f"declaration already claimed in case {other.tax_case_no}",
                            line.entry_id,
                        )
                    )
        invoice_numbers = [i.invoice_no for i in app.invoices]
        for number in sorted({n for n in invoice_numbers if invoice_numbers.count(n) > 1}):
            reasons.append(Reason("DUPLICATE_INVOICE", "invoice listed twice", number))
        input_vat = sum((i.tax_amount for i in app.invoices), Decimal("0.00"))
        if app.refund_total > input_vat:
            reasons.append(
                Reason(
                    "REFUND_EXCEEDS_INPUT_VAT",
                    f"refund claimed {app.refund_total} CNY exceeds the input VAT on the "
                    f"purchase invoices ({input_vat} CNY)",
                )
            )
        return tuple(reasons)

    # ----- time -----------------------------------------------------------------------------------
    def tick(self) -> int:
        """Fire every scheduled step that is due on the simulator clock, in time order."""
        with self._lock:
            now = self.clock.now()
            due = sorted(
                ((step, case) for case in self._cases.values() for step in case.plan if step.due_at <= now),
                key=lambda pair: (pair[0].due_at, pair[1].tax_case_no),
            )
            for step, case in due:
                case.plan.remove(step)
                self._apply(case, step)
            return len(due)

    def _apply(self, case: Case, step: ScheduledStep) -> None:
        if step.event_type in (EventType.RETURNED, EventType.REJECTED):
            case.state = CaseState.RETURNED if step.event_type is EventType.RETURNED else CaseState.REJECTED
            case.current_stage = step.stage
            case.plan = []
            self._emit(case, step.event_type, step.stage, step.due_at, step.reasons)
            return
        case.current_stage = _STAGE_AFTER[step.event_type]
        if step.event_type is EventType.TREASURY_PAID:
            case.state = CaseState.REFUNDED
            case.payment_order_no = f"PO{case.tax_case_no[2:]}"
            self._emit(
                case,
                step.event_type,
                step.stage,
                step.due_at,
                (),
                case.application.refund_total,
                case.payment_order_no,
            )
        else:
            self._emit(case, step.event_type, step.stage, step.due_at)

    def _emit(
        self,
        case: Case,
        event_type: EventType,
        stage: Stage,
        when: Any,
        reasons: tuple[Reason, ...] = (),
        amount: Decimal | None = None,
        payment_order_no: str | None = None,
    ) -> None:
        event = StageEvent(
            next(self._event_seq),
            str(uuid.uuid4()),
            case.application.application_no,
            case.tax_case_no,
            event_type,
            stage,
            when,
            reasons,
            amount,
            payment_order_no,
        )
        case.history.append(event)
        self._events.append(event)
        if not case.steering.no_push:
            self.sink.publish(event.to_json())

    # ----- queries --------------------------------------------------------------------------------
    def find(self, *, application_no: str | None = None, tax_case_no: str | None = None) -> Case:
        with self._lock:
            self.tick()
            if application_no:  # the first exporter's case with that number (testers' look-up)
                case = next((c for (_, n), c in self._cases.items() if n == application_no), None)
            else:
                case = self._by_case_no.get(tax_case_no or "")
            if case is None:
                key = f"applicationNo {application_no}" if application_no else f"taxCaseNo {tax_case_no}"
                raise CaseNotFound(f"no case for {key}")
            return case

    def events_since(
        self, cursor: int, limit: int = 100, application_no: str | None = None
    ) -> tuple[list[StageEvent], int, bool]:
        """Events with seq > cursor (seq is dense and increasing, so it is its own cursor)."""
        with self._lock:
            self.tick()
            matching = [
                e
                for e in self._events[max(cursor, 0) :]
                if application_no is None or e.application_no == application_no
            ]
            page = matching[:limit]
            next_cursor = page[-1].seq if page else max(cursor, 0)
            return page, next_cursor, len(matching) > limit

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "now": self.clock.now().isoformat(),
                "customsMode": self.customs_mode.value,
                "prefixSteering": self.prefix_steering,
                "customsExports": len(self._customs),
                "events": len(self._events),
                "cases": [c.summary() for c in self._cases.values()],
            }
