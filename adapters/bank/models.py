"""Typed values exchanged with the bank."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from adapters.bank.errors import BankProtocolError


class OrderStatus(StrEnum):
    RECEIVED = "RECEIVED"  # accepted by the bank, credit pending
    CREDITED = "CREDITED"  # 到账
    REFUSED = "REFUSED"


@dataclass(frozen=True)
class PaymentOrder:
    """A treasury (退库) payment order: credit `amount` CNY to the exporter's account."""

    order_id: str  # idempotency key (e.g. the tax service's paymentOrderNo)
    application_no: str
    exporter_uscc: str
    account_no: str
    amount: Decimal
    currency: str = "CNY"
    tax_case_no: str | None = None
    account_name: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "orderId": self.order_id,
            "applicationNo": self.application_no,
            "taxCaseNo": self.tax_case_no,
            "exporterUscc": self.exporter_uscc,
            "account": {"accountNo": self.account_no, "accountName": self.account_name},
            "amount": f"{self.amount:.2f}",
            "currency": self.currency,
        }


@dataclass(frozen=True)
class Refusal:
    code: str
    message: str


@dataclass(frozen=True)
class PaymentOrderState:
    order_id: str
    status: OrderStatus
    amount: Decimal
    currency: str
    account_no: str
    received_at: datetime
    credit_due_at: datetime
    settled_at: datetime | None
    bank_reference: str | None
    refusal: Refusal | None
    replayed: bool = False  # True when the bank already had this exact order

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PaymentOrderState:
        try:
            refusal = data.get("refusal")
            return cls(
                order_id=str(data["orderId"]),
                status=OrderStatus(data["status"]),
                amount=Decimal(str(data["amount"])),
                currency=str(data["currency"]),
                account_no=str(data["accountNo"]),
                received_at=datetime.fromisoformat(data["receivedAt"]),
                credit_due_at=datetime.fromisoformat(data["creditDueAt"]),
                settled_at=datetime.fromisoformat(data["settledAt"]) if data.get("settledAt") else None,
                bank_reference=data.get("bankReference"),
                refusal=Refusal(refusal["code"], refusal["message"]) if refusal else None,
                replayed=bool(data.get("replayed", False)),
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise BankProtocolError(f"malformed payment order state: {exc!r}") from exc


@dataclass(frozen=True)
class CreditNotification:
    """What the bank POSTs to the hub's callback when an order is credited (到账) or refused."""

    event_id: str  # stable per (order, outcome): de-duplicate on it
    order_id: str
    application_no: str
    tax_case_no: str | None
    exporter_uscc: str
    account_no: str
    amount: Decimal
    currency: str
    status: OrderStatus
    occurred_at: datetime
    bank_reference: str | None
    refusal: Refusal | None


def parse_credit_notification(payload: bytes | str | Mapping[str, Any]) -> CreditNotification:
    try:
        data = payload if isinstance(payload, Mapping) else json.loads(payload)
        reason = data.get("reason")
        return CreditNotification(
            event_id=str(data["eventId"]),
            order_id=str(data["orderId"]),
            application_no=str(data["applicationNo"]),
            tax_case_no=data.get("taxCaseNo"),
            exporter_uscc=str(data["exporterUscc"]),
            account_no=str(data["accountNo"]),
            amount=Decimal(str(data["amount"])),
            currency=str(data["currency"]),
            status=OrderStatus(data["status"]),
            occurred_at=datetime.fromisoformat(data["occurredAt"]),
            bank_reference=data.get("bankReference"),
            refusal=Refusal(reason["code"], reason["message"]) if reason else None,
        )
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise BankProtocolError(f"malformed credit notification: {exc!r}") from exc
