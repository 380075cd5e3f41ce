"""The simulated bank: payment orders keyed by order id (idempotent), credit after a delay on the
simulator clock, refusal rules, and account balances. Credit/refusal notifications go to the sink."""

from __future__ import annotations

import itertools
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from simulators.common.clock import SimClock
from simulators.common.delivery import EventSink, NullSink


class OrderStatus(StrEnum):
    RECEIVED = "RECEIVED"  # accepted, credit pending
    CREDITED = "CREDITED"  # 到账
    REFUSED = "REFUSED"  # credit refused (account closed/frozen, name mismatch...)


@dataclass(frozen=True)
class OrderRequest:
    order_id: str
    application_no: str
    tax_case_no: str | None
    exporter_uscc: str
    account_no: str
    account_name: str | None
    amount: Decimal
    currency: str

    def same_content(self, other: OrderRequest) -> bool:
        return self == other


@dataclass
class Refusal:
    code: str
    message: str


@dataclass
class Order:
    request: OrderRequest
    received_at: datetime
    credit_due_at: datetime
    status: OrderStatus = OrderStatus.RECEIVED
    settled_at: datetime | None = None
    refusal: Refusal | None = None
    bank_reference: str | None = None

    def to_json(self, replayed: bool = False) -> dict[str, Any]:
        r = self.request
        return {
            "orderId": r.order_id,
            "applicationNo": r.application_no,
            "taxCaseNo": r.tax_case_no,
            "exporterUscc": r.exporter_uscc,
            "accountNo": r.account_no,
            "amount": f"{r.amount:.2f}",
            "currency": r.currency,
            "status": self.status.value,
            "receivedAt": self.received_at.isoformat(),
            "creditDueAt": self.credit_due_at.isoformat(),
            "settledAt": self.settled_at.isoformat() if self.settled_at else None,
            "bankReference": self.bank_reference,
            "refusal": None
            if self.refusal is None
            else {"code": self.refusal.code, "message": self.refusal.message},
            "replayed": replayed,
        }


class OrderConflict(Exception):
    """Same order id, different content."""


@dataclass
class RefusalRules:
    order_ids: dict[str, Refusal] = field(default_factory=dict)
    account_prefixes: dict[str, Refusal] = field(default_factory=dict)

    def match(self, request: OrderRequest) -> Refusal | None:
        if request.order_id in self.order_ids:
            return self.order_ids[request.order_id]
        for prefix, refusal in self.account_prefixes.items():
            if request.account_no.startswith(prefix):
                return refusal
        return None


class Bank:
    def __init__(
        self,
        clock: SimClock,
        sink: EventSink | None = None,
        *,
        credit_delay: timedelta = timedelta(seconds=60),
    ) -> None:
        self.clock = clock
        self.sink: EventSink = sink or NullSink()
        self.credit_delay = credit_delay
        self.refusals = RefusalRules()
        self._lock = threading.RLock()
        self._orders: dict[str, Order] = {}
        self._balances: dict[str, Decimal] = {}
        self._refs = itertools.count(1)

    def submit(self, request: OrderRequest) -> tuple[Order, bool]:
        with self._lock:
            self.tick()
            existing = self._orders.get(request.order_id)
            if existing is not None:
                if existing.request.same_content(request):
                    return existing, True
                raise OrderConflict(f"order {request.order_id} already received with different content")
            now = self.clock.now()
            order = Order(request, now, now + self.credit_delay)
            self._orders[request.order_id] = order
            return order, False

    def get(self, order_id: str) -> Order | None:
        with self._lock:
            self.tick()
            return self._orders.get(order_id)

    def balance(self, account_no: str) -> Decimal:
        with self._lock:
            self.tick()
            return self._balances.get(account_no, Decimal("0.00"))

    def tick(self) -> int:
        """Settle every order whose credit is due on the simulator clock, oldest first."""
        with self._lock:
            now = self.clock.now()
            due = sorted(
                (
                    o
                    for o in self._orders.values()
                    if o.status is OrderStatus.RECEIVED and o.credit_due_at <= now
                ),
                key=lambda o: (o.credit_due_at, o.request.order_id),
            )
            for order in due:
                self._settle(order)
            return len(due)

    def _settle(self, order: Order) -> None:
        order.settled_at = order.credit_due_at
        refusal = self.refusals.match(order.request)
        if refusal is not None:
            order.status, order.refusal = OrderStatus.REFUSED, refusal
        else:
            order.status = OrderStatus.CREDITED
            order.bank_reference = f"BR{order.settled_at:%Y%m%d}{next(self._refs):08d}"
            account = order.request.account_no
            self._balances[account] = self._balances.get(account, Decimal("0.00")) + order.request.amount
        self.sink.publish(self.notification(order))

    @staticmethod
    def notification(order: Order) -> dict[str, Any]:
        """The callback payload (documented in docs/simulators.md)."""
        r = order.request
        # stable per (order, outcome): the hub can de-duplicate retried deliveries by eventId
        event_id = uuid.uuid5(uuid.NAMESPACE_URL, f"bank-sim:{r.order_id}:{order.status.value}")
        return {
            "type": "bank.credit",
            "source": "bank-sim",
            "eventId": str(event_id),
            "orderId": r.order_id,
            "applicationNo": r.application_no,
            "taxCaseNo": r.tax_case_no,
            "exporterUscc": r.exporter_uscc,
            "accountNo": r.account_no,
            "amount": f"{r.amount:.2f}",
            "currency": r.currency,
            "status": order.status.value,
            "occurredAt": order.settled_at.isoformat() if order.settled_at else None,
            "bankReference": order.bank_reference,
            "reason": None
            if order.refusal is None
            else {"code": order.refusal.code, "message": order.refusal.message},
        }

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "now": self.clock.now().isoformat(),
                "creditDelaySeconds": self.credit_delay.total_seconds(),
                "orders": [o.to_json() for o in self._orders.values()],
                "balances": {k: f"{v:.2f}" for k, v in self._balances.items()},
                "refusals": {
                    "orderIds": sorted(self.refusals.order_ids),
                    "accountPrefixes": sorted(self.refusals.account_prefixes),
                },
            }
