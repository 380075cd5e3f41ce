"""FastAPI app factory for the tax simulator: SOAP endpoint at /soap (WSDL at /soap?wsdl), control
API at /control/..., health at /health."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from lxml import etree

from simulators.common.clock import SimClock
from simulators.common.control import build_common_control_router
from simulators.common.delivery import SinkHolder
from simulators.common.failures import FailureInjector, FailureMode, FailureRule
from simulators.common.ticker import Ticker
from simulators.tax import codec
from simulators.tax.control import build_tax_control_router, make_sink
from simulators.tax.engine import ApplicationConflict, CaseNotFound, CustomsMode, TaxAuthority
from simulators.tax.model import FailKind
from simulators.tax.settings import TaxSimSettings
from simulators.tax.soap import (
    TNS,
    WSDL_PATH,
    XSD_PATH,
    BodyValidator,
    SoapFaultError,
    envelope,
    fault,
    parse_envelope,
)

SOAP_MEDIA_TYPE = "text/xml; charset=utf-8"


class TaxSoapService:
    """Dispatches one validated operation element to the authority and renders the response."""

    def __init__(self, authority: TaxAuthority) -> None:
        self.authority = authority
        self.handlers: dict[str, Callable[[etree._Element], etree._Element]] = {
            "SubmitRefundApplication": self.submit,
            "GetRefundStatus": self.status,
            "GetStageEvents": self.events,
        }

    def submit(self, op: etree._Element) -> etree._Element:
        try:
            case, replayed = self.authority.submit(codec.parse_application(op))
        except ApplicationConflict as exc:
            raise SoapFaultError("Client", "APPLICATION_NO_CONFLICT", str(exc)) from exc
        return codec.submit_response(case, replayed)

    def status(self, op: etree._Element) -> etree._Element:
        try:
            case = self.authority.find(
                application_no=op.findtext(codec.q("applicationNo")),
                tax_case_no=op.findtext(codec.q("taxCaseNo")),
            )
        except CaseNotFound as exc:
            raise SoapFaultError("Client", "CASE_NOT_FOUND", str(exc)) from exc
        return codec.status_response(case)

    def events(self, op: etree._Element) -> etree._Element:
        cursor = int(op.findtext(codec.q("cursor")) or 0)
        limit = int(op.findtext(codec.q("maxEvents")) or 100)
        events, next_cursor, more = self.authority.events_since(
            cursor, limit, op.findtext(codec.q("applicationNo"))
        )
        return codec.events_response(events, next_cursor, more)


def create_app(settings: TaxSimSettings | None = None, clock: SimClock | None = None) -> FastAPI:
    settings = settings or TaxSimSettings()
    clock = clock or SimClock.from_spec(settings.clock)
    sinks = SinkHolder(
        make_sink(settings, settings.callback_url, settings.callback_format, settings.callback_api_key)
    )
    authority = TaxAuthority(
        clock,
        sinks,
        durations=settings.stage_durations(),
        fast_track=settings.fast_track_durations(),
        customs_mode=CustomsMode(settings.customs_mode),
        prefix_steering=settings.prefix_steering,
    )
    failures = FailureInjector()
    validator = BodyValidator()
    service = TaxSoapService(authority)
    ticker = Ticker(authority.tick, settings.tick_seconds)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        ticker.start()
        try:
            yield
        finally:
            ticker.stop()
            sinks.close()

    app = FastAPI(title="swhub tax refund simulator (SOAP 1.1)", lifespan=lifespan)
    app.state.authority, app.state.failures, app.state.clock = authority, failures, clock
    app.include_router(build_common_control_router(clock, failures, settings.api_key, authority.tick))
    app.include_router(build_tax_control_router(authority, sinks, settings))
    wsdl_template = WSDL_PATH.read_text(encoding="utf-8")
    xsd_text = XSD_PATH.read_text(encoding="utf-8")

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok", "service": "tax-sim", "now": clock.now().isoformat()}

    @app.get("/soap")
    def describe(request: Request) -> Response:
        base = str(request.base_url).rstrip("/")
        if "wsdl" in request.query_params:
            text = wsdl_template.replace('location="http://localhost/soap"', f'location="{base}/soap"')
            text = text.replace(
                'schemaLocation="tax_refund.xsd"', f'schemaLocation="{base}/soap?xsd=tax_refund.xsd"'
            )
            return Response(text, media_type=SOAP_MEDIA_TYPE)
        if request.query_params.get("xsd") == "tax_refund.xsd":
            return Response(xsd_text, media_type=SOAP_MEDIA_TYPE)
        return Response(
            "GET /soap?wsdl for the service description; POST SOAP 1.1 envelopes here",
            status_code=400,
            media_type="text/plain",
        )

    async def injected(rule: FailureRule) -> Response | None:
        if rule.mode is FailureMode.LATENCY:
            await asyncio.sleep(rule.seconds)
            return None
        if rule.mode is FailureMode.HTTP_500:
            return Response("Internal Server Error (injected)", status_code=500, media_type="text/plain")
        if rule.mode is FailureMode.SOAP_FAULT:
            return _fault(SoapFaultError("Server", "INJECTED_FAILURE", "service temporarily unavailable"))
        await asyncio.sleep(rule.seconds or settings.hang_seconds)
        return Response("Gateway Timeout (injected)", status_code=504, media_type="text/plain")

    @app.post("/soap")
    async def soap(request: Request) -> Response:
        try:
            op = parse_envelope(await request.body())
            qname = etree.QName(op)
            if qname.namespace != TNS or qname.localname not in service.handlers:
                raise SoapFaultError(
                    "Client", "UNKNOWN_OPERATION", f"no operation for body element {op.tag}; see /soap?wsdl"
                )
            rule = failures.take(qname.localname)
            if rule is not None and (early := await injected(rule)) is not None:
                return early
            errors = validator.errors(op)
            if errors:
                raise SoapFaultError(
                    "Client",
                    "SCHEMA_VALIDATION",
                    f"{len(errors)} schema validation error(s) in {qname.localname}",
                    errors,
                )
            application_no = op.findtext(codec.q("applicationNo"))
            if application_no and (steered := authority.call_failure(application_no)) is not None:
                if steered.fail_kind is FailKind.HANG:
                    await asyncio.sleep(settings.hang_seconds)
                    return Response("Gateway Timeout (steered)", status_code=504, media_type="text/plain")
                raise SoapFaultError(
                    "Server", "INJECTED_FAILURE", f"steered failure for {application_no} ({steered.source})"
                )
            return Response(envelope(service.handlers[qname.localname](op)), media_type=SOAP_MEDIA_TYPE)
        except SoapFaultError as exc:
            return _fault(exc)

    return app


def _fault(exc: SoapFaultError) -> Response:
    return Response(fault(exc), status_code=exc.http_status, media_type=SOAP_MEDIA_TYPE)
