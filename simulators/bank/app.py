"""FastAPI app factory for the bank simulator: payment orders API, control API, health."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from simulators.bank.ledger import Bank, OrderConflict, OrderRequest, Refusal
from simulators.bank.settings import BankSimSettings
from simulators.common.clock import SimClock
from simulators.common.control import api_key_guard, build_common_control_router
from simulators.common.delivery import HttpCallbackSink, NullSink, SinkHolder
from simulators.common.failures import FailureInjector, FailureMode
from simulators.common.ticker import Ticker

USCC_PATTERN = r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$"
Money = Annotated[Decimal, Field(gt=0, max_digits=14, decimal_places=2)]


class AccountIn(BaseModel):
    accountNo: str = Field(pattern=r"^[0-9]{8,32}$")
    accountName: str | None = Field(default=None, max_length=200)


class PaymentOrderIn(BaseModel):
    orderId: str = Field(pattern=r"^[A-Za-z0-9_\-]{1,64}$")
    applicationNo: str = Field(min_length=1, max_length=40)
    taxCaseNo: str | None = Field(default=None, max_length=40)
    exporterUscc: str = Field(pattern=USCC_PATTERN)
    account: AccountIn
    amount: Money
    currency: Literal["CNY"]


class RefusalIn(BaseModel):
    orderIds: list[str] = []
    accountPrefixes: list[str] = []
    code: str = "ACCOUNT_UNAVAILABLE"
    message: str = "beneficiary account frozen or closed (simulated)"


class DelaysIn(BaseModel):
    creditDelaySeconds: float = Field(ge=0)


class CallbackIn(BaseModel):
    url: str | None = None
    apiKey: str | None = None


def _sink(settings: BankSimSettings, url: str | None, api_key: str | None) -> HttpCallbackSink | NullSink:
    if not url:
        return NullSink()
    return HttpCallbackSink(
        url,
        lambda e: (json.dumps(dict(e)).encode(), "application/json"),
        api_key=api_key,
        max_attempts=settings.callback_max_attempts,
        backoff_initial=settings.callback_backoff_initial,
        backoff_max=settings.callback_backoff_max,
    )


def create_app(settings: BankSimSettings | None = None, clock: SimClock | None = None) -> FastAPI:
    settings = settings or BankSimSettings()
    clock = clock or SimClock.from_spec(settings.clock)
    sinks = SinkHolder(_sink(settings, settings.callback_url, settings.callback_api_key))
    bank = Bank(clock, sinks, credit_delay=timedelta(seconds=settings.credit_delay_seconds))
    for prefix in filter(None, (p.strip() for p in settings.refuse_account_prefixes.split(","))):
        bank.refusals.account_prefixes[prefix] = Refusal(
            "ACCOUNT_UNAVAILABLE", "account refused by configuration"
        )
    failures = FailureInjector()
    ticker = Ticker(bank.tick, settings.tick_seconds)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        ticker.start()
        try:
            yield
        finally:
            ticker.stop()
            sinks.close()

    app = FastAPI(title="swhub bank simulator", lifespan=lifespan)
    app.state.bank, app.state.clock = bank, clock

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()]
        return JSONResponse({"error": "VALIDATION", "errors": errors}, status_code=422)

    async def inject(operation: str) -> JSONResponse | None:
        rule = failures.take(operation)
        if rule is None:
            return None
        if rule.mode is FailureMode.LATENCY:
            await asyncio.sleep(rule.seconds)
            return None
        if rule.mode is FailureMode.HTTP_500:
            return JSONResponse({"error": "INJECTED_FAILURE"}, status_code=500)
        if rule.mode is FailureMode.SOAP_FAULT:  # protocol-level "try later" for a REST service
            return JSONResponse({"error": "SERVICE_UNAVAILABLE"}, status_code=503)
        await asyncio.sleep(rule.seconds or settings.hang_seconds)
        return JSONResponse({"error": "GATEWAY_TIMEOUT"}, status_code=504)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok", "service": "bank-sim", "now": clock.now().isoformat()}

    @app.post("/payment-orders", status_code=202)
    async def submit(order: PaymentOrderIn) -> JSONResponse:
        if (early := await inject("submit")) is not None:
            return early
        request = OrderRequest(
            order.orderId,
            order.applicationNo,
            order.taxCaseNo,
            order.exporterUscc,
            order.account.accountNo,
            order.account.accountName,
            order.amount,
            order.currency,
        )
        try:
            stored, replayed = bank.submit(request)
        except OrderConflict as exc:
            return JSONResponse({"error": "ORDER_CONFLICT", "message": str(exc)}, status_code=409)
        return JSONResponse(stored.to_json(replayed), status_code=200 if replayed else 202)

    @app.get("/payment-orders/{order_id}")
    async def status(order_id: str) -> JSONResponse:
        if (early := await inject("status")) is not None:
            return early
        order = bank.get(order_id)
        if order is None:
            return JSONResponse(
                {"error": "ORDER_NOT_FOUND", "message": f"no order {order_id}"}, status_code=404
            )
        return JSONResponse(order.to_json())

    @app.get("/accounts/{account_no}")
    def account(account_no: str) -> dict[str, str]:
        return {"accountNo": account_no, "balance": f"{bank.balance(account_no):.2f}", "currency": "CNY"}

    app.include_router(build_common_control_router(clock, failures, settings.api_key, bank.tick))
    control = APIRouter(
        prefix="/control", tags=["control"], dependencies=[Depends(api_key_guard(settings.api_key))]
    )

    @control.get("/state")
    def state() -> dict[str, Any]:
        return bank.snapshot() | {"callback": sinks.status()}

    @control.put("/delays")
    def put_delays(request: DelaysIn) -> dict[str, float]:
        bank.credit_delay = timedelta(seconds=request.creditDelaySeconds)
        return {"creditDelaySeconds": request.creditDelaySeconds}

    @control.post("/refusals", status_code=201)
    def add_refusals(request: RefusalIn) -> dict[str, Any]:
        refusal = Refusal(request.code, request.message)
        for order_id in request.orderIds:
            bank.refusals.order_ids[order_id] = refusal
        for prefix in request.accountPrefixes:
            bank.refusals.account_prefixes[prefix] = refusal
        return bank.snapshot()["refusals"]

    @control.delete("/refusals")
    def clear_refusals() -> dict[str, int]:
        cleared = len(bank.refusals.order_ids) + len(bank.refusals.account_prefixes)
        bank.refusals.order_ids.clear()
        bank.refusals.account_prefixes.clear()
        return {"cleared": cleared}

    @control.put("/callback")
    def put_callback(request: CallbackIn) -> dict[str, Any]:
        sinks.replace(_sink(settings, request.url, request.apiKey))
        return sinks.status()

    @control.get("/callback")
    def get_callback() -> dict[str, Any]:
        return sinks.status()

    app.include_router(control)
    return app
