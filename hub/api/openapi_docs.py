"""OpenAPI documentation of the raw-body routes, kept apart from the route code so a change to how a
route reads its body and a change to its docs never touch the same lines.

The routes read `request.body()` themselves (XML or UN/EDIFACT, sniffed), so FastAPI cannot infer the
request body: each route applies `openapi_extra=body(...)` and `responses=errors(...)` from here."""

from __future__ import annotations

from typing import Any

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
                    "description": "every problem at once, each with its location",
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
    409: "Conflicts with what the hub already holds (duplicate or out of order).",
    413: "Body larger than the hub accepts.",
    415: "Media type not supported.",
    422: "The message was read but is not valid: every problem, each with its location.",
}


def body(description: str, media_types: tuple[str, ...] = (XML, EDIFACT)) -> dict[str, Any]:
    """`openapi_extra` declaring a raw request body in `media_types` (a string schema: sent as is)."""
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {m: {"schema": {"type": "string"}} for m in media_types},
        }
    }


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses` documenting each status with the error envelope actually returned."""
    return {
        code: {"description": ERROR_TEXT[code], "content": {JSON: {"schema": ERROR_ENVELOPE}}}
        for code in codes
    }


MESSAGES = body("Any supported single-window message: XML (DecMessage, Manifest MT1101, arrival MT5101, "
                "tally MT5201, customs receipts) or its UN/EDIFACT twin (CUSDEC, CUSCAR, ...). The format "
                "is sniffed, so curl's default Content-Type works too.")
CONVERT = body("A single-window XML message to turn into UN/EDIFACT, or an EDIFACT interchange to turn "
               "into XML.")
VALIDATE = body("A single-window XML or UN/EDIFACT message to check without submitting it.")
SCREEN = body("A declaration to screen: DecMessage XML or an EDIFACT CUSDEC.")
REFUNDS = body("An export tax refund application (XML).", (XML,))
TAX_EVENT = body("A stage event from the tax refund authority (JSON, or XML StageEventNotification).",
                 (JSON, XML))
BANK_EVENT = body("A credit notification (到账) from the bank.", (JSON,))
RAW_ERRORS = errors(400, 401, 403, 413, 415, 422)
