"""RefundService: composes the workflow with the hub (database, bus, adapters, sweep thread).

Consumers (queues `<prefix>.filings|submit|payments`, all idempotent via the inbox):
- filings: INBOUND_EXCHANGE `refund.application.<exporter uscc>`: an XML filing over AMQP;
- submit: EVENT_EXCHANGE `refund.submit.#`: SubmitRefundApplication to the tax service (adapters.tax);
- payments: EVENT_EXCHANGE `refund.pay.#`: the treasury payment order to the bank (adapters.bank).
The adapters are called outside any database transaction; both services are idempotent on their key
(application_no, order id), so a redelivery after a crash repeats the call harmlessly."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from adapters.bank import BankClient, PaymentOrder, parse_credit_notification
from adapters.tax import (
    DeclarationItem,
    InvoiceItem,
    RefundApplication,
    TaxApplicationConflict,
    TaxRefundClient,
    TaxRequestInvalid,
    parse_stage_event,
)
from hub.bus.base import EVENT_EXCHANGE, INBOUND_EXCHANGE, Delivery, QueueSpec, Reject
from hub.clock import now
from hub.db import audit
from hub.db.inbox import already_processed, idempotent
from hub.db.models import InboxMessage, Party
from hub.db.outbox import enqueue
from hub.db.refund_tables import RefundAlert, RefundCase, RefundDeclaration, RefundInvoice
from hub.runtime import ConsumerSpec, Hub
from hub.services.calendar_store import DbCalendarStore
from hub.services.refunds import workflow
from hub.services.refunds.clocks import TERMINAL, case_clocks, light_of
from hub.services.refunds.filing import FilingInvalid, parse_filing
from hub.services.refunds.settings import RefundSettings
from hub.services.refunds.workflow import Receipt
from refunds import ProfileRegistry, WorkingCalendar

log = logging.getLogger(__name__)
ALERT_KEY = "refund.alert"


class UnknownCase(LookupError):
    pass


@dataclass(frozen=True, slots=True)
class Alert:
    application_no: str
    light: str
    previous: str | None


class RefundService:
    def __init__(self, hub: Hub, settings: RefundSettings | None = None) -> None:
        self.hub = hub
        self.db = hub.db
        self.settings = settings or RefundSettings()
        self.profile = ProfileRegistry.builtin(self.settings.profiles_dir).get(self.settings.profile)
        self._calendar: WorkingCalendar | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._tax: TaxRefundClient | None = None
        self._bank: BankClient | None = None

    # ----- wiring -------------------------------------------------------------------------------
    @property
    def calendar(self) -> WorkingCalendar:
        if self._calendar is None:
            self._calendar = WorkingCalendar(extra_years=DbCalendarStore(self.db).load_all())
        return self._calendar

    def reload_calendar(self) -> None:
        self._calendar = None

    def queue(self, name: str) -> str:
        return f"{self.settings.queue_prefix}.{name}"

    def register(self) -> None:
        """Add the consumers (and the alert queue, so alerts are routable) before hub.start()."""
        p = self.hub.settings.delivery_limit
        self.hub.add_consumer(
            ConsumerSpec(
                QueueSpec(self.queue("filings"), ((INBOUND_EXCHANGE, "refund.application.#"),), p),
                idempotent(self.db, "refunds.filings", self._on_amqp_filing),
            )
        )
        self.hub.add_consumer(
            ConsumerSpec(
                QueueSpec(self.queue("submit"), ((EVENT_EXCHANGE, f"{workflow.SUBMIT_KEY}.#"),), p),
                self._on_submit,
                prefetch=5,
            )
        )
        self.hub.add_consumer(
            ConsumerSpec(
                QueueSpec(self.queue("payments"), ((EVENT_EXCHANGE, f"{workflow.PAY_KEY}.#"),), p),
                self._on_pay,
                prefetch=5,
            )
        )
        self.hub.add_consumer(
            ConsumerSpec(
                QueueSpec(self.queue("alerts"), ((EVENT_EXCHANGE, f"{ALERT_KEY}.#"),), p), self._on_alert
            )
        )

    def start_sweep(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._sweep_loop, name="refund-sweep", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(10)
        if self._bank:
            self._bank.close()

    def tax_client(self) -> TaxRefundClient:
        if self._tax is None:
            if not self.settings.tax_wsdl_url:
                raise RuntimeError("HUB_REFUND_TAX_WSDL_URL is not set: cannot submit to the tax service")
            self._tax = TaxRefundClient(
                self.settings.tax_wsdl_url,
                timeout=self.settings.adapter_timeout,
                max_attempts=self.settings.adapter_attempts,
                backoff_initial=0.1,
                backoff_max=2.0,
            )
        return self._tax

    def bank_client(self) -> BankClient:
        if self._bank is None:
            if not self.settings.bank_url:
                raise RuntimeError("HUB_REFUND_BANK_URL is not set: cannot send payment orders")
            self._bank = BankClient(
                self.settings.bank_url,
                timeout=self.settings.adapter_timeout,
                max_attempts=self.settings.adapter_attempts,
                backoff_initial=0.1,
                backoff_max=2.0,
                api_key=self.settings.bank_api_key,
            )
        return self._bank

    # ----- filing -------------------------------------------------------------------------------
    def file(self, party_id: int, raw: bytes, channel: str) -> Receipt:
        """Archive, validate, record. Raises FilingInvalid (all problems) or FilingConflict."""
        with self.db.unit_of_work() as session:  # archived first, whatever follows
            party = session.get(Party, party_id)
            assert party is not None
            message = workflow.archive(session, raw, channel, party.uscc, "RefundApplication")
            message_id = message.id
        try:
            filing = parse_filing(raw, self.hub.settings.max_message_bytes)
            with self.db.unit_of_work() as session:
                party = session.get(Party, party_id)
                assert party is not None
                receipt = workflow.file_application(
                    session, party, filing, message_id, self.profile, self.calendar
                )
                session.get(workflow.Message, message_id).status = "processed"  # type: ignore[union-attr]
                return receipt
        except (FilingInvalid, workflow.FilingConflict) as exc:
            with self.db.unit_of_work() as session:
                row = session.get(workflow.Message, message_id)
                if row is not None:
                    row.status, row.error, row.updated_at = "rejected", str(exc)[:4000], now()
            raise

    def _on_amqp_filing(self, session: Session, delivery: Delivery) -> None:
        sender = delivery.envelope.routing_key.rsplit(".", 1)[-1]
        party = session.scalar(select(Party).where(Party.uscc == sender))
        if party is None or not set(party.roles) & {"exporter", "admin"}:
            raise Reject(f"refund filing from {sender!r}: not a known exporter")
        try:
            receipt = self.file(party.id, delivery.envelope.body, "amqp")
        except FilingInvalid as exc:
            raise Reject(json.dumps([p.as_json() for p in exc.problems], ensure_ascii=False)) from None
        except workflow.FilingConflict as exc:
            raise Reject(str(exc)) from None
        log.info("AMQP refund filing %s -> %s", receipt.application_no, receipt.status)

    # ----- submission to the tax service (worker) -----------------------------------------------
    def _on_submit(self, delivery: Delivery) -> None:
        body = json.loads(delivery.envelope.body)
        key = body["application_no"]  # the internal case key; the tax service sees the exporter's number
        with self.db.sessions() as session:
            case = session.get(RefundCase, key)
            if case is None or case.content_sha256 != body["content_sha256"]:
                return  # not this hub's case, or superseded by a newer filing
            application = self._tax_application(session, case)
        try:
            result = self.tax_client().submit_refund_application(application)
        except (TaxApplicationConflict, TaxRequestInvalid) as exc:
            with self.db.unit_of_work() as session:
                audit.record(
                    session,
                    "tax",
                    "refund.submit_refused",
                    "refund_case",
                    key,
                    {"error": str(exc)},
                )
            raise Reject(str(exc)) from None

        def record(session: Session, _: Delivery) -> None:
            case = session.get(RefundCase, key, with_for_update=True)
            if case is None:
                return
            workflow.apply_tax_outcome(
                session,
                case,
                result.outcome.value,
                result.received_at,
                None,
                self.profile,
                self.calendar,
                tax_case_no=result.tax_case_no,
                reasons=[{"code": r.code, "message": r.message} for r in result.reasons],
            )

        idempotent(self.db, "refunds.submit", record)(delivery)

    def _tax_application(self, session: Session, case: RefundCase) -> RefundApplication:
        decs = session.scalars(
            select(RefundDeclaration).where(RefundDeclaration.application_no == case.application_no)
        )
        invs = session.scalars(
            select(RefundInvoice).where(RefundInvoice.application_no == case.application_no)
        )
        from datetime import date

        return RefundApplication(
            application_no=workflow.exporter_number(case.application_no),  # its own number, with it
            exporter_uscc=case.exporter_uscc,
            enterprise_class=case.enterprise_class,
            ftz=case.ftz,
            reputable=case.reputable,
            declarations=tuple(
                DeclarationItem(
                    d.entry_id,
                    Decimal(d.fob_amount_cny),
                    Decimal(d.refund_amount_cny),
                    date.fromisoformat(d.export_date) if d.export_date else None,
                )
                for d in decs
            ),
            invoices=tuple(InvoiceItem(i.invoice_no, Decimal(i.amount), Decimal(i.tax_amount)) for i in invs),
            filed_at=workflow.local(case.updated_at),
            fx_receipt_proof=case.fx_receipt_proof,
        )

    # ----- tax stage events (callback) ------------------------------------------------------------
    def tax_event(self, raw: bytes, content_type: str, sender: str) -> bool:
        """Apply one pushed stage event; False for a duplicate (same eventId) or a no-op."""
        with self.db.unit_of_work() as session:
            message_id = workflow.archive(session, raw, "http", sender, "TaxStageEvent").id
        return self._settled(message_id, lambda: self._tax_event(raw, content_type))

    def _settled(self, message_id: str, apply: Callable[[], bool]) -> bool:
        """Run a callback's `apply` and say on its archived row what became of it: `applied`,
        `ignored` (a duplicate or a no-op) or `rejected` with the reason (the caller gets the error)."""
        try:
            applied = apply()
        except Exception as exc:
            self._mark(message_id, "rejected", f"{type(exc).__name__}: {exc}"[:4000])
            raise
        self._mark(message_id, "applied" if applied else "ignored", None)
        return applied

    def _mark(self, message_id: str, status: str, error: str | None) -> None:
        with self.db.unit_of_work() as session:
            row = session.get(workflow.Message, message_id)
            if row is not None:
                row.status, row.error, row.updated_at = status, error, now()

    def _tax_event(self, raw: bytes, content_type: str) -> bool:
        event = parse_stage_event(raw, content_type)  # TaxProtocolError -> 422 at the API
        with self.db.unit_of_work() as session:
            if already_processed(session, "refunds.tax-events", event.event_id):
                return False
            found = workflow.case_for_tax(session, event.application_no, event.tax_case_no)
            case = session.get(RefundCase, found.application_no, with_for_update=True) if found else None
            if case is None:
                raise UnknownCase(event.application_no)
            session.add(
                InboxMessage(consumer="refunds.tax-events", message_id=event.event_id, processed_at=now())
            )
            return workflow.apply_tax_outcome(
                session,
                case,
                event.event_type.value,
                event.occurred_at,
                event.event_id,
                self.profile,
                self.calendar,
                tax_case_no=event.tax_case_no,
                reasons=[{"code": r.code, "message": r.message} for r in event.reasons],
                refund_amount=event.refund_amount_cny,
                payment_order_no=event.payment_order_no,
            )

    # ----- bank ---------------------------------------------------------------------------------
    def _on_pay(self, delivery: Delivery) -> None:
        application_no = json.loads(delivery.envelope.body)["application_no"]
        with self.db.sessions() as session:
            case = session.get(RefundCase, application_no)
            if case is None or case.payment_order_no is None:
                return
            order = PaymentOrder(
                order_id=case.payment_order_no,
                application_no=case.application_no,
                exporter_uscc=case.exporter_uscc,
                account_no=case.account_no,
                amount=Decimal(case.paid_amount_cny or case.refund_amount_cny),
                tax_case_no=case.tax_case_no,
            )
        state = self.bank_client().submit_payment_order(order)  # BankServiceUnavailable -> redelivery

        def record(session: Session, _: Delivery) -> None:
            audit.record(
                session,
                "hub",
                "refund.payment_order_sent",
                "refund_case",
                application_no,
                {
                    "order_id": order.order_id,
                    "bank_status": state.status.value,
                    "credit_due_at": state.credit_due_at.isoformat(),
                },
            )

        idempotent(self.db, "refunds.payments", record)(delivery)

    def bank_event(self, raw: bytes, sender: str) -> bool:
        with self.db.unit_of_work() as session:
            message_id = workflow.archive(session, raw, "http", sender, "BankCredit").id
        return self._settled(message_id, lambda: self._bank_event(raw))

    def _bank_event(self, raw: bytes) -> bool:
        note = parse_credit_notification(raw)  # BankProtocolError -> 422 at the API
        with self.db.unit_of_work() as session:
            if already_processed(session, "refunds.bank-events", note.event_id):
                return False
            case = session.get(RefundCase, note.application_no, with_for_update=True)
            if case is None or case.payment_order_no != note.order_id:
                raise UnknownCase(note.application_no)
            session.add(
                InboxMessage(consumer="refunds.bank-events", message_id=note.event_id, processed_at=now())
            )
            detail: dict[str, Any] = {
                "order_id": note.order_id,
                "amount": f"{note.amount:.2f}",
                "bank_reference": note.bank_reference,
                "refusal": note.refusal.code if note.refusal else None,
            }
            return workflow.apply_bank_credit(
                session, case, note.status.value, note.occurred_at, note.event_id, detail
            )

    # ----- alerts -------------------------------------------------------------------------------
    def _on_alert(self, delivery: Delivery) -> None:
        log.warning("refund alert %s: %s", delivery.envelope.routing_key, delivery.envelope.body[:200])

    def sweep_once(self, at: datetime | None = None) -> list[Alert]:
        """Re-evaluate every open case (and each closed case once); alert on a change to amber/red."""
        at = at or now()
        alerts: list[Alert] = []
        with self.db.unit_of_work() as session:
            cases = list(
                session.scalars(
                    select(RefundCase)
                    .where(RefundCase.sweep_done.is_(False))
                    .with_for_update(skip_locked=not self.db.is_sqlite)
                )
            )
            for case in cases:
                clocks = case_clocks(
                    case,
                    workflow.transitions_of(session, case.application_no),
                    self.profile,
                    self.calendar,
                    at,
                )
                light = light_of(clocks)
                if case.status in TERMINAL:
                    case.sweep_done = True
                if light == case.last_light:
                    continue
                previous, case.last_light = case.last_light, light
                if light not in ("amber", "red"):
                    continue
                status = clocks.case or clocks.stage
                body = {
                    "application_no": workflow.exporter_number(case.application_no),  # with its exporter
                    "light": light,
                    "previous": previous,
                    "status": case.status,
                    "enterprise_class": case.enterprise_class,
                    "exporter_uscc": case.exporter_uscc,
                    "tax_office_level": case.tax_office_level,
                    "remaining_working_days": status.remaining if status else None,
                    "deadline": status.deadline.isoformat() if status and status.deadline else None,
                    "breached": bool(status and status.breached),
                    "at": at.isoformat(),
                }
                session.add(
                    RefundAlert(
                        application_no=case.application_no,
                        light=light,
                        previous_light=previous,
                        at=at,
                        detail=json.dumps(body, ensure_ascii=False),
                    )
                )
                enqueue(
                    session,
                    EVENT_EXCHANGE,
                    f"{ALERT_KEY}.{light}",
                    json.dumps(body).encode(),
                    message_id=f"alert:{case.application_no}:{light}:{previous}",
                    content_type="application/json",
                )
                alerts.append(Alert(case.application_no, light, previous))
        return alerts

    def _sweep_loop(self) -> None:
        while not self._stop.wait(self.settings.sweep_seconds):
            try:
                self.sweep_once()
            except Exception:  # keep sweeping after a database hiccup
                log.exception("refund sweep failed")
