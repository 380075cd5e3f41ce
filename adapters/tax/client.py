"""zeep client for the tax refund SOAP service with bounded, exponential-backoff retries.

Retried (transient): connection errors, timeouts, HTTP 5xx/408/429, SOAP Server faults, and a WSDL
that cannot be loaded yet. Not retried: SOAP Client faults (typed errors) and local WSDL validation.
Submission is safe to retry because the service is idempotent on application_no."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

import requests
import zeep
import zeep.exceptions
import zeep.helpers
from lxml import etree
from tenacity import RetryError, Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from adapters.tax.errors import (
    FieldError,
    TaxApplicationConflict,
    TaxCaseNotFound,
    TaxProtocolError,
    TaxRequestInvalid,
    TaxServiceUnavailable,
)
from adapters.tax.events import TNS, as_datetime, event_from_mapping, reasons_from
from adapters.tax.models import (
    CaseState,
    EventPage,
    RefundApplication,
    RefundStatus,
    Stage,
    SubmissionOutcome,
    SubmissionResult,
)

T = TypeVar("T")


class _Transient(Exception):
    """Internal marker: this attempt may succeed if repeated."""


def _money(value: Any) -> str:
    return f"{value:.2f}"


class TaxRefundClient:
    def __init__(
        self,
        wsdl_url: str,
        *,
        timeout: float = 10.0,
        max_attempts: int = 4,
        backoff_initial: float = 0.2,
        backoff_max: float = 5.0,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        self.wsdl_url = wsdl_url
        self.timeout = timeout
        self.max_attempts = max_attempts
        self._wait = wait_exponential(multiplier=backoff_initial, min=backoff_initial, max=backoff_max)
        self._client: zeep.Client | None = None

    # ----- public API -----------------------------------------------------------------------------
    def submit_refund_application(self, application: RefundApplication) -> SubmissionResult:
        payload = {
            "applicationNo": application.application_no,
            "exporterUscc": application.exporter_uscc,
            "enterpriseClass": application.enterprise_class,
            "ftz": application.ftz,
            "reputable": application.reputable,
            "declarations": {
                "declaration": [
                    {
                        "entryId": d.entry_id,
                        "exportDate": d.export_date,
                        "fobAmountCny": _money(d.fob_amount_cny),
                        "refundAmountCny": _money(d.refund_amount_cny),
                    }
                    for d in application.declarations
                ]
            },
            "invoices": {
                "invoice": [
                    {"invoiceNo": i.invoice_no, "amount": _money(i.amount), "taxAmount": _money(i.tax_amount)}
                    for i in application.invoices
                ]
            },
            "fxReceiptProof": application.fx_receipt_proof,
            "filedAt": application.filed_at,
        }
        data = self._call("SubmitRefundApplication", payload)
        return SubmissionResult(
            application_no=data["applicationNo"],
            tax_case_no=data["taxCaseNo"],
            outcome=SubmissionOutcome(data["outcome"]),
            received_at=as_datetime(data["receivedAt"]),
            replayed=bool(data["replayed"]),
            reasons=reasons_from(data.get("reasons")),
        )

    def get_refund_status(
        self, *, application_no: str | None = None, tax_case_no: str | None = None
    ) -> RefundStatus:
        if (application_no is None) == (tax_case_no is None):
            raise ValueError("give exactly one of application_no, tax_case_no")
        key = {"applicationNo": application_no} if application_no else {"taxCaseNo": tax_case_no}
        data = self._call("GetRefundStatus", key)
        history = (data.get("history") or {}).get("event") or []
        due = data.get("nextStageDueAt")
        return RefundStatus(
            application_no=data["applicationNo"],
            tax_case_no=data["taxCaseNo"],
            enterprise_class=int(data["enterpriseClass"]),
            current_stage=Stage(data["currentStage"]),
            state=CaseState(data["state"]),
            refund_amount_cny=Decimal(str(data["refundAmountCny"])),
            history=tuple(event_from_mapping(e) for e in history),
            next_stage_due_at=as_datetime(due) if due else None,
            payment_order_no=data.get("paymentOrderNo"),
        )

    def get_stage_events(
        self, cursor: int = 0, limit: int = 100, application_no: str | None = None
    ) -> EventPage:
        """Pull events with seq > cursor; persist `next_cursor` and pass it next time."""
        payload: dict[str, Any] = {"cursor": cursor, "maxEvents": limit}
        if application_no:
            payload["applicationNo"] = application_no
        data = self._call("GetStageEvents", payload)
        events = (data.get("events") or {}).get("event") or []
        return EventPage(
            tuple(event_from_mapping(e) for e in events), int(data["nextCursor"]), bool(data["more"])
        )

    # ----- plumbing -------------------------------------------------------------------------------
    def _call(self, operation: str, payload: dict[str, Any]) -> dict[str, Any]:
        def attempt() -> dict[str, Any]:
            service = self._service()
            try:
                result = getattr(service, operation)(**payload)
            except zeep.exceptions.Fault as fault:
                raise self._fault_error(fault) from fault
            except zeep.exceptions.TransportError as exc:
                if exc.status_code >= 500 or exc.status_code in (408, 429):
                    raise _Transient(f"HTTP {exc.status_code}") from exc
                raise TaxProtocolError(f"{operation}: HTTP {exc.status_code}: {exc.message}") from exc
            except zeep.exceptions.ValidationError as exc:  # zeep refused to build the request
                raise TaxRequestInvalid(
                    "LOCAL_VALIDATION", str(exc.message), (FieldError(str(exc.path), str(exc.message)),)
                ) from exc
            except (requests.Timeout, requests.ConnectionError) as exc:
                raise _Transient(f"{type(exc).__name__}: {exc}") from exc
            except (zeep.exceptions.XMLSyntaxError, etree.XMLSyntaxError) as exc:
                raise _Transient(f"unparseable response: {exc}") from exc
            return zeep.helpers.serialize_object(result, dict)

        return self._retrying(operation, attempt)

    def _retrying(self, operation: str, attempt: Callable[[], T]) -> T:
        retrying = Retrying(
            stop=stop_after_attempt(self.max_attempts),
            wait=self._wait,
            retry=retry_if_exception_type(_Transient),
            reraise=False,
        )
        try:
            return retrying(attempt)
        except RetryError as exc:
            last = exc.last_attempt.exception()
            raise TaxServiceUnavailable(operation, self.max_attempts, last or "unknown") from last

    def _service(self) -> Any:
        if self._client is None:
            try:
                session = requests.Session()
                transport = zeep.Transport(
                    session=session, timeout=self.timeout, operation_timeout=self.timeout
                )
                settings = zeep.Settings(
                    strict=True, forbid_dtd=True, forbid_entities=True, xml_huge_tree=False
                )
                self._client = zeep.Client(self.wsdl_url, transport=transport, settings=settings)
            except (requests.RequestException, zeep.exceptions.TransportError, etree.XMLSyntaxError) as exc:
                raise _Transient(f"WSDL not loadable from {self.wsdl_url}: {exc}") from exc
        return self._client.service

    @staticmethod
    def _fault_error(fault: zeep.exceptions.Fault) -> Exception:
        code = (fault.code or "").split(":")[-1]
        if code == "Server":
            return _Transient(f"SOAP Server fault: {fault.message}")
        detail_code, errors = "SOAP_FAULT", ()
        if fault.detail is not None:
            node = fault.detail.find(f"{{{TNS}}}FaultDetail")
            if node is not None:
                detail_code = node.findtext(f"{{{TNS}}}code") or detail_code
                errors = tuple(
                    FieldError(e.get("path", "/"), e.text or "", _line(e.get("line")))
                    for e in node.findall(f"{{{TNS}}}error")
                )
        if code not in ("Client", "VersionMismatch", "MustUnderstand"):
            return TaxProtocolError(f"unexpected SOAP fault code {fault.code!r}: {fault.message}")
        error_type = {
            "APPLICATION_NO_CONFLICT": TaxApplicationConflict,
            "CASE_NOT_FOUND": TaxCaseNotFound,
        }.get(detail_code, TaxRequestInvalid)
        return error_type(detail_code, fault.message or "", errors)


def _line(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None
