"""httpx client for the bank's payment order API with bounded exponential-backoff retries on
transport errors, timeouts and 5xx/408/429. Submission is idempotent on order_id, so retrying a POST
whose answer was lost cannot double-credit."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import httpx
from tenacity import RetryError, Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from adapters.bank.errors import (
    BankOrderConflict,
    BankOrderNotFound,
    BankProtocolError,
    BankRequestInvalid,
    BankServiceUnavailable,
)
from adapters.bank.models import PaymentOrder, PaymentOrderState

T = TypeVar("T")


class _Transient(Exception):
    pass


class BankClient:
    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 10.0,
        max_attempts: int = 4,
        backoff_initial: float = 0.2,
        backoff_max: float = 5.0,
        api_key: str | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        self.max_attempts = max_attempts
        self._wait = wait_exponential(multiplier=backoff_initial, min=backoff_initial, max=backoff_max)
        headers = {"X-API-Key": api_key} if api_key else {}
        self._http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout, headers=headers)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> BankClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def submit_payment_order(self, order: PaymentOrder) -> PaymentOrderState:
        def attempt() -> PaymentOrderState:
            response = self._send("POST", "/payment-orders", json=order.to_json())
            if response.status_code in (200, 202):
                return PaymentOrderState.from_json(response.json())
            if response.status_code == 409:
                raise BankOrderConflict(response.json().get("message", "order id conflict"))
            if response.status_code == 422:
                raise BankRequestInvalid(response.json().get("errors", []))
            raise BankProtocolError(f"unexpected HTTP {response.status_code}: {response.text[:200]}")

        return self._retrying("submit_payment_order", attempt)

    def get_payment_order(self, order_id: str) -> PaymentOrderState:
        def attempt() -> PaymentOrderState:
            response = self._send("GET", f"/payment-orders/{order_id}")
            if response.status_code == 200:
                return PaymentOrderState.from_json(response.json())
            if response.status_code == 404:
                raise BankOrderNotFound(f"no payment order {order_id}")
            raise BankProtocolError(f"unexpected HTTP {response.status_code}: {response.text[:200]}")

        return self._retrying("get_payment_order", attempt)

    def _send(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)  # type: ignore[arg-type]
        except httpx.TransportError as exc:  # connect errors and timeouts
            raise _Transient(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code >= 500 or response.status_code in (408, 429):
            raise _Transient(f"HTTP {response.status_code}")
        return response

    def _retrying(self, operation: str, attempt: Callable[[], T]) -> T:
        retrying = Retrying(
            stop=stop_after_attempt(self.max_attempts),
            wait=self._wait,
            retry=retry_if_exception_type(_Transient),
        )
        try:
            return retrying(attempt)
        except RetryError as exc:
            last = exc.last_attempt.exception()
            raise BankServiceUnavailable(operation, self.max_attempts, last or "unknown") from last
