"""OpenAPI documentation of the raw-body routes, kept apart from the route code so a change to how a
route reads its body and a change to its docs never touch the same lines.

The routes read `request.body()` themselves (XML or UN/EDIFACT, sniffed), so FastAPI cannot infer the
request body: each route applies `openapi_extra=body(...)` and `responses=errors(...)` from here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

EXAMPLES = Path(__file__).with_name("examples")

XML = "application/xml"
EDIFACT = "application/edifact"
JSON = "application/json"

# The envelope hub/api/errors.py returns for every 4xx/5xx (also for 422: FastAPI's default
# {"detail": [...]} shape is replaced there).
ERROR_ENVELOPE: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string", "description": "machine-readable, e.g. invalid_request"},
                "message": {"type": "string", "description": "what is wrong and how to fix it"},
                "details": {
                    "type": "array",
                    "description": "every problem at once; for messages each has layer (schema, "
                    "semantic, business), code, location (element path in the document as sent) "
                    "and line (docs/errors.md)",
                    "items": {"type": "object", "additionalProperties": True},
                },
                "layers": {
                    "type": "array",
                    "description": "message checks only: per layer, run with its number of problems, "
                    "or not run and why (the document could not be read into a model)",
                    "items": {"type": "object", "additionalProperties": True},
                },
            },
        }
    },
}

ERROR_TEXT = {
    400: "The body cannot be read (not XML or EDIFACT, or the wrong encoding).",
    401: "No X-API-Key header, or an unknown or revoked key.",
    403: "The key's party lacks the role or the authority for this data.",
    404: "No such object.",
    409: "Conflicts with what the hub already holds (another party owns it, or out of order).",
    429: "Too many requests from this address: retry after the Retry-After seconds.",
    413: "Body larger than the hub accepts.",
    415: "Media type not supported.",
    422: "The message was read but is not valid: every problem, each with its location.",
}


def body(
    description: str,
    media_types: tuple[str, ...] = (XML, EDIFACT),
    *,
    example: str | dict[str, Any] | None = None,
    role: str = "",
    status: int = 200,
    more: dict[str, tuple[str | dict[str, Any], str, int]] | None = None,
) -> dict[str, Any]:
    """`openapi_extra` declaring a raw request body in `media_types` (a string schema: sent as is).

    `example`: a file under hub/api/examples/ (or a JSON body), shown in /docs for the first media
    type; `more`: media type -> (example, role, status) for the others, so each media type shows
    one. Each media type's `x-swhub-example` says which first-run role's key it is sent with and the
    status it gets on a fresh hub (in document order); tests/hub/test_hub_openapi_examples.py posts
    every example and checks that."""
    content: dict[str, Any] = {m: {"schema": {"type": "string"}} for m in media_types}
    shown = dict(more or {})
    if example is not None:
        shown = {media_types[0]: (example, role, status), **shown}
    for media, (value, who, code) in shown.items():
        shown_value = (EXAMPLES / value).read_text(encoding="utf-8") if isinstance(value, str) else value
        content[media]["example"] = shown_value
        content[media]["x-swhub-example"] = {"role": who, "status": code}
    return {"requestBody": {"required": True, "description": description, "content": content}}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses` documenting each status with the error envelope actually returned."""
    return {
        code: {"description": ERROR_TEXT[code], "content": {JSON: {"schema": ERROR_ENVELOPE}}}
        for code in codes
    }


MESSAGES = body(
    "Any supported single-window message: XML (DecMessage, Manifest MT1101, arrival report MT3101, "
    "tally report MT5101, MT6102, customs receipts) or its UN/EDIFACT twin (CUSDEC, CUSCAR, CODECO, "
    "COARRI, CUSRES). The format is sniffed, so curl's default Content-Type works too. Answers 202 with "
    "a receipt; 200 with the first receipt for a duplicate. The example is a one-bill manifest a "
    "carrier's agent files (broker role).",
    (XML, EDIFACT),
    example="manifest-mt1101.xml",
    role="broker",
    status=202,
    more={EDIFACT: ("arrival-mt3101.edi", "port_operator", 202)},  # the terminal's CODECO for a box of it
)
CONVERT = body(
    "A single-window XML message to turn into UN/EDIFACT, or an EDIFACT interchange to turn into XML "
    "(`target` picks the other format by default). The example manifest comes back as a CUSCAR, the "
    "example CUSCAR as the manifest.",
    example="manifest-mt1101.xml",
    more={EDIFACT: ("manifest-mt1101.edi", "", 200)},
)
VALIDATE = body(
    "A single-window XML or UN/EDIFACT message to check without submitting it: 200 with "
    '`{"valid": true}`, or 422 listing every problem with its location.',
    example="declaration.xml",
    more={EDIFACT: ("tally-mt5101.edi", "", 200)},
)
SCREEN = body(
    "A declaration to screen (DecMessage XML or an EDIFACT CUSDEC): the decision with every rule hit, "
    "credit adjustment and draw, with reasons (customs only).",
    example="declaration.xml",
    role="customs",
    more={EDIFACT: ("declaration.edi", "customs", 200)},  # the same declaration as a CUSDEC
)
REFUNDS = body(
    "An export tax refund application (XML, xsd/refund/RefundApplication.xsd); ExporterUscc may be "
    "left out (the key's party). 202 with a receipt.",
    (XML,),
    example="refund-application.xml",
    role="exporter",
    status=202,
)
_TAX_EXAMPLE = {
    "type": "tax.stage_event",
    "seq": 1,
    "eventId": "0b6f3a1e-5d0c-4a57-9d0e-2f1f8f9b0a01",
    "applicationNo": "9NOSUCHCASE01",
    "taxCaseNo": "TX20261202000001",
    "eventType": "ACCEPTED",
    "stage": "ACCEPTANCE",
    "occurredAt": "2026-12-02T10:00:00+08:00",
    "reasons": [],
    "refundAmountCny": None,
    "paymentOrderNo": None,
}
TAX_EVENT = body(
    "A stage event from the tax refund authority (JSON, or XML StageEventNotification), deduplicated "
    "by eventId. The examples name no filed application, so they get 404.",
    (JSON, XML),
    example=_TAX_EXAMPLE,
    role="tax_officer",
    status=404,
    more={XML: ("stage-event.xml", "tax_officer", 404)},  # the same event as XML
)
_BANK_EXAMPLE = {
    "eventId": "7d1c2b3a-0000-4000-8000-000000000001",
    "orderId": "PO20261202000001",
    "applicationNo": "9NOSUCHCASE01",
    "taxCaseNo": "TX20261202000001",
    "exporterUscc": "91370200M3C0EXP01H",
    "accountNo": "6222000011112222",
    "amount": "1300.00",
    "currency": "CNY",
    "status": "CREDITED",
    "occurredAt": "2026-12-02T15:00:00+08:00",
    "bankReference": "BR20261202000001",
}
BANK_EVENT = body(
    "A credit notification (到账) from the bank, deduplicated by eventId. The example names no "
    "refund case, so it gets 404.",
    (JSON,),
    example=_BANK_EXAMPLE,
    role="tax_officer",
    status=404,
)
RAW_ERRORS = errors(400, 401, 403, 413, 415, 422)
MESSAGE_ERRORS = errors(400, 401, 403, 409, 413, 415, 422)  # 409: another party owns the bill
EVENT_ERRORS = errors(400, 401, 403, 404, 413, 415, 422)  # 404: no such refund case
REFUND_ERRORS = errors(400, 401, 403, 409, 413, 415, 422)  # 409: the number is taken

VALIDATION_TEXT = (
    "The request's parameters or JSON body are not valid: every problem, each with its location "
    "(`query.limit`, `body.uscc`) and message."
)


def _error_response(code: int, description: str | None = None) -> dict[str, Any]:
    text = description or ERROR_TEXT.get(code, "Error")
    return {"description": text, "content": {JSON: {"schema": ERROR_ENVELOPE}}}


def with_error_envelope(spec: dict[str, Any]) -> dict[str, Any]:
    """Make every documented error the envelope the hub returns (in place; idempotent).

    FastAPI documents a 422 `{"detail": [...]}` (HTTPValidationError) for every route with parameters
    or a JSON body, but hub/api/errors.py answers `{"error": ...}`: replaced here, so /docs shows what a
    client really gets. Every route that takes a key also documents its 401."""
    for operations in spec.get("paths", {}).values():
        for op in operations.values():
            responses = op.setdefault("responses", {})
            for code, answer in responses.items():
                if not (code.isdigit() and int(code) >= 400):
                    continue
                if answer.get("content", {}).get(JSON, {}).get("schema") != ERROR_ENVELOPE:
                    fastapis = code == "422" and answer.get("description") == "Validation Error"
                    text = VALIDATION_TEXT if fastapis else answer.get("description")
                    responses[code] = _error_response(int(code), text)
            if op.get("security") and "401" not in responses:
                responses["401"] = _error_response(401)
    schemas = spec.get("components", {}).get("schemas", {})
    text = repr(spec.get("paths"))
    for name in ("HTTPValidationError", "ValidationError"):
        if f"#/components/schemas/{name}" not in text:
            schemas.pop(name, None)
    return spec
