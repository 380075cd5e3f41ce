"""Connector to the bank that executes treasury payment orders (the bank simulator in development).

Usage::

    from adapters.bank import BankClient, PaymentOrder
    client = BankClient("http://127.0.0.1:8103")
    receipt = client.submit_payment_order(order)      # idempotent on order_id
"""

from adapters.bank.client import BankClient
from adapters.bank.errors import (
    BankError,
    BankOrderConflict,
    BankOrderNotFound,
    BankProtocolError,
    BankRequestInvalid,
    BankServiceUnavailable,
)
from adapters.bank.models import (
    CreditNotification,
    OrderStatus,
    PaymentOrder,
    PaymentOrderState,
    parse_credit_notification,
)

__all__ = [
    "BankClient",
    "BankError",
    "BankOrderConflict",
    "BankOrderNotFound",
    "BankProtocolError",
    "BankRequestInvalid",
    "BankServiceUnavailable",
    "CreditNotification",
    "OrderStatus",
    "PaymentOrder",
    "PaymentOrderState",
    "parse_credit_notification",
]
