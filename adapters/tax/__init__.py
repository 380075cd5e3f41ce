"""Connector to the tax authority's export refund SOAP service (the simulator in development).

Usage::

    from adapters.tax import TaxRefundClient, RefundApplication, DeclarationItem, InvoiceItem
    client = TaxRefundClient("http://127.0.0.1:8102/soap?wsdl")
    result = client.submit_refund_application(application)   # idempotent on application_no
"""

from adapters.tax.client import TaxRefundClient
from adapters.tax.errors import (
    TaxApplicationConflict,
    TaxCaseNotFound,
    TaxProtocolError,
    TaxRejected,
    TaxRequestInvalid,
    TaxReturnedForCorrection,
    TaxServiceError,
    TaxServiceUnavailable,
)
from adapters.tax.events import parse_stage_event
from adapters.tax.models import (
    CaseState,
    DeclarationItem,
    EventPage,
    EventType,
    InvoiceItem,
    Reason,
    RefundApplication,
    RefundStatus,
    Stage,
    StageEvent,
    SubmissionOutcome,
    SubmissionResult,
)

__all__ = [
    "CaseState",
    "DeclarationItem",
    "EventPage",
    "EventType",
    "InvoiceItem",
    "Reason",
    "RefundApplication",
    "RefundStatus",
    "Stage",
    "StageEvent",
    "SubmissionOutcome",
    "SubmissionResult",
    "TaxApplicationConflict",
    "TaxCaseNotFound",
    "TaxProtocolError",
    "TaxRefundClient",
    "TaxRejected",
    "TaxRequestInvalid",
    "TaxReturnedForCorrection",
    "TaxServiceError",
    "TaxServiceUnavailable",
    "parse_stage_event",
]
