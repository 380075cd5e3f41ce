"""Port/terminal simulator process: the engine on its own clock, a ticker that sends what is due
through the fault injector and the transport (AMQP or HTTP), notices from the hub applied to the
engine, and the control API testers use (vessel calls, faults, clock)."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from simulators.common.clock import SimClock
from simulators.common.control import api_key_guard, build_common_control_router, clock_json
from simulators.common.failures import FailureInjector, FailureMode
from simulators.common.ticker import Ticker
from simulators.port.dispatch import Dispatcher
from simulators.port.engine import CallRejected, DuplicateCall, PortEngine
from simulators.port.faults import FaultInjector
from simulators.port.schema import FaultIn, VesselCallIn
from simulators.port.settings import PortSimSettings
from simulators.port.transport import NoTransport, Stats, Transport
from simulators.port.transport_amqp import AmqpTransport
from simulators.port.transport_http import HttpTransport

log = logging.getLogger("simulators.port")


def make_transport(settings: PortSimSettings) -> Transport:
    if settings.amqp_url:
        bindings = list(dict.fromkeys([f"{settings.terminal_uscc}.#", f"{settings.carrier_uscc}.#"]))
        return AmqpTransport(settings.amqp_url, settings.notice_queue, bindings, settings.send_attempts)
    if settings.hub_url:
        return HttpTransport(
            settings.hub_url,
            {
                "terminal": (settings.terminal_uscc, settings.terminal_api_key),
                "carrier": (settings.carrier_uscc, settings.carrier_api_key),
            },
            [t.strip() for t in settings.poll_types.split(",") if t.strip()],
            poll_seconds=settings.poll_seconds,
            attempts=settings.send_attempts,
        )
    log.warning("port simulator: neither PORT_SIM_AMQP_URL nor PORT_SIM_HUB_URL set; nothing will be sent")
    return NoTransport()


def create_app(
    settings: PortSimSettings | None = None, clock: SimClock | None = None, transport: Transport | None = None
) -> FastAPI:
    settings = settings or PortSimSettings()
    clock = clock or SimClock.from_spec(settings.clock)
    api_key = settings.api_key
    if not api_key:
        api_key = secrets.token_urlsafe(18)
        log.warning("port simulator: PORT_SIM_API_KEY not set; tester key for /control is %s", api_key)
    engine = PortEngine(
        settings.terminal_code,
        settings.terminal_uscc,
        settings.carrier_uscc,
        transit=timedelta(minutes=settings.transit_minutes),
    )
    faults = FaultInjector(max_hold=settings.reorder_max_hold_seconds)
    stats = Stats()
    transport = transport or make_transport(settings)
    dispatcher = Dispatcher(transport, faults, stats)
    release_seen: dict[str, float] = {}  # container -> epoch seconds its release notice was applied
    api_failures = FailureInjector()

    def tick() -> None:
        dispatcher.submit(engine.tick(clock.now()))
        dispatcher.flush(engine.pending_flows())

    def on_notice(notice_type: str, body: bytes) -> None:
        applied = engine.apply_notice(notice_type, body, clock.now())
        stamp = time.time()
        for number in applied.released:
            release_seen.setdefault(number, stamp)

    ticker = Ticker(tick, settings.tick_seconds)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        dispatcher.start()
        await asyncio.to_thread(transport.start, on_notice)
        ticker.start()
        try:
            yield
        finally:
            ticker.stop()
            dispatcher.stop()
            transport.close()

    app = FastAPI(title="swhub port/terminal simulator", lifespan=lifespan)
    app.state.engine, app.state.clock, app.state.dispatcher = engine, clock, dispatcher

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": ".".join(str(p) for p in e["loc"] if p != "body"), "message": e["msg"]}
            for e in exc.errors()
        ]
        return JSONResponse({"error": "VALIDATION", "errors": errors}, status_code=422)

    async def inject(operation: str) -> JSONResponse | None:
        """Testers can make the simulator's own read API slow or failing (POST /control/failures)."""
        rule = api_failures.take(operation)
        if rule is None:
            return None
        if rule.mode is FailureMode.LATENCY:
            await asyncio.sleep(rule.seconds)
            return None
        if rule.mode is FailureMode.HTTP_500:
            return JSONResponse({"error": "INJECTED_FAILURE"}, status_code=500)
        if rule.mode is FailureMode.SOAP_FAULT:
            return JSONResponse({"error": "SERVICE_UNAVAILABLE"}, status_code=503)
        await asyncio.sleep(rule.seconds or 30)
        return JSONResponse({"error": "GATEWAY_TIMEOUT"}, status_code=504)

    @app.get("/health")
    def health() -> JSONResponse:
        ready = transport.ready()
        body = {"status": "ok" if ready else "starting", "service": "port-sim", "transport": transport.kind}
        return JSONResponse(body, status_code=200 if ready else 503)

    @app.get("/status")
    async def status() -> Any:
        if (early := await inject("status")) is not None:
            return early
        gated_out, outside = engine.gated_out()
        sent = stats.snapshot()
        return {
            "terminal": settings.terminal_code,
            "terminal_uscc": settings.terminal_uscc,
            "carrier_uscc": settings.carrier_uscc,
            "transport": transport.kind,
            "clock": clock_json(clock.state()),
            "calls": len(engine.calls),
            "sent": sent["sent"],
            "failed": sent["failed"],
            "dropped": faults.dropped,
            "duplicated": sent["duplicated"],
            "malformed": sent["malformed"],
            "reconnects": transport.reconnects,
            "notices": dict(engine.notices),
            "containers": dict(engine.container_states()),
            "gated_out": gated_out,
            "gated_out_outside_office_hours": outside,
            # beyond the contract: diagnostics
            "hub_duplicates": sent["hub_duplicates"],
            "held": faults.held(),
            "queued": dispatcher.pending(),
            "ignored_notices": engine.ignored_notices,
            "errors": sent["errors"] + [{"type": "build", "detail": e} for e in engine.errors[-20:]],
        }

    @app.get("/containers")
    async def containers(
        call_id: str | None = None, bill_no: str | None = None, state: str | None = None
    ) -> Any:
        if (early := await inject("containers")) is not None:
            return early
        rows = engine.container_list(call_id, bill_no)
        for row in rows:  # real (epoch) times: what the benchmark measures latency with
            row["arrival_sent_epoch"] = dispatcher.arrival_sent.get(row["number"])
            row["release_received_epoch"] = release_seen.get(row["number"])
        return [r for r in rows if state is None or r["state"] == state]

    app.include_router(build_common_control_router(clock, api_failures, api_key, tick))
    control = APIRouter(prefix="/control", tags=["control"], dependencies=[Depends(api_key_guard(api_key))])

    @control.post("/vessel-calls", status_code=201)
    def add_call(call: VesselCallIn) -> JSONResponse:
        try:
            plan = engine.add_call(call.to_spec())
        except DuplicateCall as exc:
            return JSONResponse({"error": "DUPLICATE_CALL", "message": str(exc)}, status_code=409)
        except CallRejected as exc:
            errors = [{"loc": loc, "message": msg} for loc, msg in exc.problems]
            return JSONResponse({"error": "VALIDATION", "errors": errors}, status_code=422)
        tick()  # anything already due goes now
        return JSONResponse({"call_id": call.call_id, "events": [e.to_json() for e in plan]}, status_code=201)

    @control.get("/vessel-calls")
    def list_calls() -> list[dict[str, Any]]:
        return engine.call_list()

    @control.post("/faults", status_code=201)
    def add_fault(fault: FaultIn) -> dict[str, Any]:
        return faults.add(fault.flow, fault.kind, fault.count, fault.seconds).to_json()

    @control.get("/faults")
    def list_faults() -> list[dict[str, Any]]:
        return [r.to_json() for r in faults.rules()]

    @control.delete("/faults")
    def clear_faults() -> dict[str, int]:
        return {"cleared": faults.clear()}

    app.include_router(control)
    return app
