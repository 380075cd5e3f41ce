"""The tax refund simulator as a real separate process, driven through the zeep adapter."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from lxml import etree
from simtest_support import (
    CONTROL_KEY,
    HUB_CALLBACK_KEY,
    REPO_ROOT,
    START,
    CallbackReceiver,
    app_no,
    application,
    control,
    ok,
)

from adapters.tax import (
    CaseState,
    EventType,
    Stage,
    SubmissionOutcome,
    TaxApplicationConflict,
    TaxCaseNotFound,
    TaxRejected,
    TaxRequestInvalid,
    TaxReturnedForCorrection,
    TaxServiceUnavailable,
    parse_stage_event,
)
from adapters.tax.client import TaxRefundClient
from simulators.common.runner import SimulatorProcess, free_port

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
TNS = "urn:swhub:sim:taxrefund:v1"


@pytest.fixture(scope="module")
def receiver() -> Iterator[CallbackReceiver]:
    server = CallbackReceiver()
    yield server
    server.close()


@pytest.fixture(scope="module")
def tax_sim(receiver: CallbackReceiver) -> Iterator[SimulatorProcess]:
    env = {
        "TAX_SIM_CLOCK": f"manual:{START}",
        "TAX_SIM_API_KEY": CONTROL_KEY,
        "TAX_SIM_CALLBACK_URL": receiver.url,
        "TAX_SIM_CALLBACK_API_KEY": HUB_CALLBACK_KEY,
        "TAX_SIM_CALLBACK_BACKOFF_INITIAL": "0.05",
        "TAX_SIM_HANG_SECONDS": "4",
    }
    with SimulatorProcess("simulators.tax", env=env, cwd=REPO_ROOT) as process:
        yield process


@pytest.fixture
def client(tax_sim: SimulatorProcess) -> TaxRefundClient:
    return TaxRefundClient(
        f"{tax_sim.base_url}/soap?wsdl", timeout=1.0, max_attempts=3, backoff_initial=0.05, backoff_max=0.2
    )


def advance(sim: SimulatorProcess, delta: timedelta) -> None:
    ok(control(sim.base_url, "POST", "/clock", {"advance_seconds": delta.total_seconds()}))


def test_submission_is_accepted_and_resubmission_returns_the_same_case(
    client: TaxRefundClient, tax_sim: SimulatorProcess
) -> None:
    app = application()
    first = client.submit_refund_application(app)
    assert first.outcome is SubmissionOutcome.ACCEPTED
    assert re.fullmatch(r"TX\d{14}", first.tax_case_no)
    assert not first.replayed and first.reasons == ()

    again = client.submit_refund_application(app)
    assert again.tax_case_no == first.tax_case_no and again.replayed
    cases = [
        c
        for c in ok(control(tax_sim.base_url, "GET", "/state"))["cases"]
        if c["applicationNo"] == app.application_no
    ]
    assert len(cases) == 1 and cases[0]["events"] == 1  # no duplicate case, no duplicate ACCEPTED


def test_same_application_no_with_other_content_is_a_typed_conflict(client: TaxRefundClient) -> None:
    app = application()
    client.submit_refund_application(app)
    with pytest.raises(TaxApplicationConflict) as info:
        client.submit_refund_application(replace(app, reputable=True))
    assert info.value.code == "APPLICATION_NO_CONFLICT"


def test_another_exporters_same_application_no_is_its_own_case(client: TaxRefundClient) -> None:
    """An application number is the exporter's own (issue 12 item 9): the hub sends it as filed,
    with the exporter, so two exporters' equal numbers are two cases, not a conflict."""
    app = application()
    first = client.submit_refund_application(app)
    theirs = replace(application(), application_no=app.application_no, exporter_uscc="91370200M3C5EXP11F")
    other = client.submit_refund_application(theirs)
    assert other.outcome is SubmissionOutcome.ACCEPTED and not other.replayed
    assert other.tax_case_no != first.tax_case_no


def test_status_moves_through_the_stages_as_the_sim_clock_advances(
    client: TaxRefundClient, tax_sim: SimulatorProcess, receiver: CallbackReceiver
) -> None:
    app = application(enterprise_class=2)  # default class 2: review 2d, approval 2d, treasury 1d
    result = client.submit_refund_application(app)
    status = client.get_refund_status(application_no=app.application_no)
    assert (status.current_stage, status.state) == (Stage.REVIEW, CaseState.IN_PROGRESS)
    assert status.next_stage_due_at == result.received_at + timedelta(days=2)

    advance(tax_sim, timedelta(days=2))
    status = client.get_refund_status(tax_case_no=result.tax_case_no)
    assert status.current_stage is Stage.APPROVAL
    assert [e.event_type for e in status.history] == [EventType.ACCEPTED, EventType.REVIEWED]
    assert status.history[1].occurred_at == result.received_at + timedelta(days=2)

    advance(tax_sim, timedelta(days=2))
    assert client.get_refund_status(application_no=app.application_no).current_stage is Stage.TREASURY
    advance(tax_sim, timedelta(days=1))
    status = client.get_refund_status(application_no=app.application_no)
    assert (status.current_stage, status.state) == (Stage.DONE, CaseState.REFUNDED)
    paid = status.history[-1]
    assert paid.event_type is EventType.TREASURY_PAID and paid.refund_amount_cny == Decimal("1300.00")
    assert paid.payment_order_no == status.payment_order_no and paid.payment_order_no

    # pull: the same four events, by cursor
    page = client.get_stage_events(0, 1000, application_no=app.application_no)
    assert [e.event_id for e in page.events] == [e.event_id for e in status.history]
    # push: the same four events reached the hub's callback, in order, with the hub's API key
    posts = receiver.wait_for(lambda rs: sum(app.application_no.encode() in r.body for r in rs) >= 4)
    mine = [
        parse_stage_event(r.body, r.headers["Content-Type"])
        for r in posts
        if app.application_no.encode() in r.body
    ]
    assert [e.event_id for e in mine] == [e.event_id for e in status.history]
    assert all(r.headers["X-API-Key"] == HUB_CALLBACK_KEY for r in posts)


def test_pull_cursor_pages_through_all_events(client: TaxRefundClient) -> None:
    for _ in range(3):
        client.submit_refund_application(application())
    first = client.get_stage_events(0, 2)
    assert len(first.events) == 2 and first.more
    rest = client.get_stage_events(first.next_cursor, 1000)
    seqs = [e.seq for e in first.events + rest.events]
    assert seqs == list(range(1, len(seqs) + 1)) and not rest.more


def test_class4_without_fx_proof_is_returned_then_corrected(client: TaxRefundClient) -> None:
    app = application(enterprise_class=4)
    result = client.submit_refund_application(app)
    assert result.outcome is SubmissionOutcome.RETURNED
    assert [r.code for r in result.reasons] == ["FX_RECEIPT_PROOF_MISSING"]
    with pytest.raises(TaxReturnedForCorrection):
        result.raise_for_outcome()
    corrected = client.submit_refund_application(replace(app, fx_receipt_proof="FX-2025-000123"))
    assert corrected.outcome is SubmissionOutcome.ACCEPTED
    assert corrected.tax_case_no == result.tax_case_no
    history = client.get_refund_status(application_no=app.application_no).history
    assert [e.event_type for e in history] == [EventType.RETURNED, EventType.ACCEPTED]


def test_prefix_steering_rejects_and_rejects_at_review(
    client: TaxRefundClient, tax_sim: SimulatorProcess
) -> None:
    rejected = client.submit_refund_application(application(app_no("R")))
    assert rejected.outcome is SubmissionOutcome.REJECTED
    with pytest.raises(TaxRejected):
        rejected.raise_for_outcome()

    later = application(app_no("RV"))
    assert client.submit_refund_application(later).outcome is SubmissionOutcome.ACCEPTED
    advance(tax_sim, timedelta(days=2))
    status = client.get_refund_status(application_no=later.application_no)
    assert status.state is CaseState.REJECTED and status.history[-1].stage is Stage.REVIEW


def test_control_api_steers_one_application(client: TaxRefundClient, tax_sim: SimulatorProcess) -> None:
    app = application()
    ok(
        control(
            tax_sim.base_url,
            "POST",
            "/outcomes",
            {
                "applicationNo": app.application_no,
                "outcome": "return",
                "reasons": [{"code": "INVOICE_UNVERIFIED", "message": "invoice not in Golden Tax data"}],
            },
        )
    )
    result = client.submit_refund_application(app)
    assert result.outcome is SubmissionOutcome.RETURNED
    assert [r.code for r in result.reasons] == ["INVOICE_UNVERIFIED"]


def test_customs_export_data_is_checked(client: TaxRefundClient, tax_sim: SimulatorProcess) -> None:
    app = application(fob="10000.00")
    entry = app.declarations[0].entry_id
    ok(
        control(
            tax_sim.base_url,
            "POST",
            "/customs-exports",
            [{"entryId": entry, "exporterUscc": app.exporter_uscc, "fobAmountCny": "9000.00"}],
        )
    )
    result = client.submit_refund_application(app)
    assert result.outcome is SubmissionOutcome.RETURNED
    assert [(r.code, r.reference) for r in result.reasons] == [("DECLARATION_AMOUNT_MISMATCH", entry)]

    ok(control(tax_sim.base_url, "PUT", "/settings", {"customsMode": "strict"}))
    try:
        unknown = client.submit_refund_application(application())
        assert [r.code for r in unknown.reasons] == ["DECLARATION_NOT_FOUND"]
    finally:
        ok(control(tax_sim.base_url, "PUT", "/settings", {"customsMode": "permissive"}))


def test_adapter_retries_through_injected_500s_then_succeeds(
    client: TaxRefundClient, tax_sim: SimulatorProcess
) -> None:
    ok(
        control(
            tax_sim.base_url,
            "POST",
            "/failures",
            {"mode": "http500", "operation": "SubmitRefundApplication", "count": 2},
        )
    )
    result = client.submit_refund_application(application())
    assert result.outcome is SubmissionOutcome.ACCEPTED and not result.replayed
    assert ok(control(tax_sim.base_url, "GET", "/failures")) == []  # both injected failures consumed

    flaky = application(app_no("F2"))  # prefix F2: SOAP Server fault on the first two calls
    assert client.submit_refund_application(flaky).outcome is SubmissionOutcome.ACCEPTED


def test_persistent_failure_is_a_typed_error_after_bounded_retries(
    client: TaxRefundClient, tax_sim: SimulatorProcess
) -> None:
    ok(control(tax_sim.base_url, "POST", "/failures", {"mode": "soap_fault", "count": 3}))
    with pytest.raises(TaxServiceUnavailable) as info:
        client.get_stage_events(0, 1)
    assert info.value.attempts == 3
    assert ok(control(tax_sim.base_url, "GET", "/failures")) == []


def test_timeout_is_a_typed_error_after_bounded_retries(tax_sim: SimulatorProcess) -> None:
    client = TaxRefundClient(
        f"{tax_sim.base_url}/soap?wsdl", timeout=0.5, max_attempts=3, backoff_initial=0.05, backoff_max=0.2
    )
    client.get_stage_events(0, 1)  # WSDL loaded: time only the hanging calls
    ok(
        control(
            tax_sim.base_url,
            "POST",
            "/failures",
            {"mode": "timeout", "operation": "GetRefundStatus", "count": 3, "seconds": 5},
        )
    )
    started = time.monotonic()
    with pytest.raises(TaxServiceUnavailable) as info:
        client.get_refund_status(application_no="9NOSUCHCASE")
    elapsed = time.monotonic() - started
    assert info.value.attempts == 3 and "Timeout" in str(info.value.last_error)
    assert elapsed < 3.0  # three 0.5 s client timeouts plus short backoff, not 3 x the 5 s hang


def test_unknown_case_is_typed(client: TaxRefundClient) -> None:
    with pytest.raises(TaxCaseNotFound):
        client.get_refund_status(application_no="9NOSUCHCASE")


def test_schema_invalid_request_lists_every_error(client: TaxRefundClient) -> None:
    bad = application(uscc="NOT-A-USCC", entry="123")
    bad = replace(bad, enterprise_class=7)
    with pytest.raises(TaxRequestInvalid) as info:
        client.submit_refund_application(bad)
    paths = {e.path for e in info.value.errors}
    assert info.value.code == "SCHEMA_VALIDATION"
    assert {
        "/SubmitRefundApplication/exporterUscc",
        "/SubmitRefundApplication/enterpriseClass",
        "/SubmitRefundApplication/declarations/declaration/entryId",
    } <= paths


def _post(sim: SimulatorProcess, body: bytes) -> etree._Element:
    response = httpx.post(f"{sim.base_url}/soap", content=body, headers={"Content-Type": "text/xml"})
    assert response.status_code == 500
    return etree.fromstring(response.content)


def test_bad_envelope_fault_lists_all_errors(tax_sim: SimulatorProcess) -> None:
    body = (
        f'<s:Envelope xmlns:s="{SOAP_ENV}" xmlns:t="{TNS}"><s:Body><t:SubmitRefundApplication>'
        "<t:applicationNo>bad no</t:applicationNo><t:exporterUscc>x</t:exporterUscc>"
        "<t:enterpriseClass>0</t:enterpriseClass></t:SubmitRefundApplication></s:Body></s:Envelope>"
    )
    root = _post(tax_sim, body.encode())
    assert root.findtext(f".//{{{SOAP_ENV}}}Fault/faultcode") == "soap:Client"
    errors = root.findall(f".//{{{TNS}}}FaultDetail/{{{TNS}}}error")
    assert len(errors) == 4  # pattern, pattern, range, and the missing ftz...filedAt sequence
    assert all(e.get("path", "").startswith("/SubmitRefundApplication") for e in errors)

    not_soap = _post(tax_sim, b"<hello/>")
    assert not_soap.findtext(f".//{{{TNS}}}code") == "NOT_AN_ENVELOPE"
    broken = _post(tax_sim, b"<s:Envelope xmlns:s='x'>")
    assert broken.findtext(f".//{{{TNS}}}code") == "MALFORMED_XML"


def test_xxe_and_entity_expansion_are_rejected(tax_sim: SimulatorProcess) -> None:
    xxe = (
        f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        f'<s:Envelope xmlns:s="{SOAP_ENV}" xmlns:t="{TNS}"><s:Body><t:GetRefundStatus>'
        "<t:applicationNo>&x;</t:applicationNo></t:GetRefundStatus></s:Body></s:Envelope>"
    )
    root = _post(tax_sim, xxe.encode())
    assert root.findtext(f".//{{{TNS}}}code") == "DTD_FORBIDDEN"
    assert b"root:" not in etree.tostring(root)
    bomb = (
        '<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        f'<s:Envelope xmlns:s="{SOAP_ENV}"><s:Body>&b;</s:Body></s:Envelope>'
    )
    assert _post(tax_sim, bomb.encode()).findtext(f".//{{{TNS}}}code") == "DTD_FORBIDDEN"


def test_wsdl_is_served_with_this_host_as_address(tax_sim: SimulatorProcess) -> None:
    wsdl = httpx.get(f"{tax_sim.base_url}/soap?wsdl").text
    assert f'location="{tax_sim.base_url}/soap"' in wsdl
    xsd = httpx.get(f"{tax_sim.base_url}/soap?xsd=tax_refund.xsd")
    assert xsd.status_code == 200 and "SubmitRefundApplication" in xsd.text


def test_xml_push_format(
    client: TaxRefundClient, tax_sim: SimulatorProcess, receiver: CallbackReceiver
) -> None:
    ok(
        control(
            tax_sim.base_url,
            "PUT",
            "/callback",
            {"url": receiver.url, "format": "xml", "apiKey": HUB_CALLBACK_KEY},
        )
    )
    try:
        app = application()
        client.submit_refund_application(app)
        posts = receiver.wait_for(lambda rs: any(app.application_no.encode() in r.body for r in rs))
        post = next(r for r in posts if app.application_no.encode() in r.body)
        assert post.headers["Content-Type"] == "application/xml"
        event = parse_stage_event(post.body, post.headers["Content-Type"])
        assert (event.application_no, event.event_type) == (app.application_no, EventType.ACCEPTED)
    finally:
        ok(
            control(
                tax_sim.base_url,
                "PUT",
                "/callback",
                {"url": receiver.url, "format": "json", "apiKey": HUB_CALLBACK_KEY},
            )
        )


def test_control_api_requires_the_tester_key(tax_sim: SimulatorProcess) -> None:
    assert control(tax_sim.base_url, "GET", "/state", key=None).status_code == 401
    assert control(tax_sim.base_url, "GET", "/state", key="wrong").status_code == 403
    bad_clock = control(tax_sim.base_url, "POST", "/clock", {"advance_seconds": 1, "mode": "manual"})
    assert bad_clock.status_code == 422


def test_unreachable_service_is_unavailable_not_a_crash() -> None:
    client = TaxRefundClient(
        f"http://127.0.0.1:{free_port()}/soap?wsdl", timeout=0.5, max_attempts=2, backoff_initial=0.01
    )
    with pytest.raises(TaxServiceUnavailable):
        client.get_stage_events()


def test_fast_track_for_reputable_ftz_exporters(client: TaxRefundClient) -> None:
    result = client.submit_refund_application(application(enterprise_class=1, ftz=True, reputable=True))
    status = client.get_refund_status(tax_case_no=result.tax_case_no)
    assert status.next_stage_due_at == result.received_at + timedelta(hours=1)
    assert isinstance(status.history[0].occurred_at, datetime)
