"""Typed errors of the bank adapter. Only BankServiceUnavailable is transient (already retried)."""

from __future__ import annotations

from typing import Any


class BankError(Exception):
    """Base of every bank adapter error."""


class BankServiceUnavailable(BankError):
    def __init__(self, operation: str, attempts: int, last_error: BaseException | str) -> None:
        super().__init__(f"{operation}: bank unavailable after {attempts} attempt(s): {last_error}")
        self.operation = operation
        self.attempts = attempts
        self.last_error = last_error


class BankRequestInvalid(BankError):
    """422: every field error the bank reported, as (loc, message) pairs."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(
            "payment order invalid: " + "; ".join(f"{e.get('loc')}: {e.get('message')}" for e in errors)
        )
        self.errors = errors


class BankOrderConflict(BankError):
    """The order id was already used for an order with different content."""


class BankOrderNotFound(BankError):
    pass


class BankProtocolError(BankError):
    """An answer the adapter cannot interpret."""
