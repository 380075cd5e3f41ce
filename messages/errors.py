"""Typed errors for every message codec (XML and EDIFACT).

Callers (hub intake, CLI) catch `MessageError` and map the subclass to a reply: a sender gets a
precise reason instead of a stack trace. Codecs must never leak IndexError/KeyError/UnicodeDecodeError
on bad input: they wrap them in one of these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# The three layers a message is checked in, in order (docs/errors.md). A later layer runs only on a
# usable model: after schema problems confined to leaf elements, which are left out for the checks.
SCHEMA, SEMANTIC, BUSINESS = "schema", "semantic", "business"
LAYERS = (SCHEMA, SEMANTIC, BUSINESS)

# The one vocabulary of problem codes, every layer and format: code -> (layer, meaning).
# docs/errors.md lists each (tests/hub_clearance/test_clear_error_layers.py checks it).
CODES: dict[str, tuple[str, str]] = {
    "not_well_formed": (SCHEMA, "the bytes are not well-formed XML / EDIFACT syntax"),
    "unsafe_xml": (SCHEMA, "DOCTYPE or entity declarations (refused for safety)"),
    "payload_too_large": (SCHEMA, "larger than the hub accepts"),
    "bad_encoding": (SCHEMA, "bytes not in the declared character set"),
    "unknown_message_type": (SCHEMA, "not a message type the hub reads"),
    "missing_element": (SCHEMA, "a required element (or segment) is missing"),
    "unexpected_element": (SCHEMA, "an element (or segment) the schema does not allow here"),
    "missing_attribute": (SCHEMA, "a required attribute is missing"),
    "unexpected_attribute": (SCHEMA, "an attribute the schema does not allow"),
    "invalid_value": (SCHEMA, "a value breaks its type: pattern, length, code list, number"),
    "edifact_structure": (SCHEMA, "EDIFACT envelope, segment or mapping problem"),
    "rule_violated": (SEMANTIC, "a rule between values the schema cannot express"),
    "goods_numbering": (SEMANTIC, "goods or item numbers do not run 1..n"),
    "code_ts_length": (SEMANTIC, "6-digit commodity code outside a summary declaration"),
    "unknown_reference": (SEMANTIC, "refers to goods lines or containers the message does not hold"),
    "type_mismatch": (SEMANTIC, "Head/MessageType contradicts the document namespace"),
    "sender_not_allowed": (BUSINESS, "the sender's roles may not send this message type"),
    "reference_used": (BUSINESS, "the reference (MessageID, ClientSeqNo) is taken"),
    "missing_value": (BUSINESS, "a value the business step needs is absent"),
    "not_import": (BUSINESS, "only import declarations take the two-step route"),
    "not_two_step": (BUSINESS, "DecHead/Type is not a summary or complete declaration"),
    "no_open_summary": (BUSINESS, "a complete declaration without an open summary to complete"),
    "not_declarant": (BUSINESS, "the declarant USCC is not the authenticated broker"),
    "not_entrusted": (BUSINESS, "the consignee has not entrusted the broker"),
    "consignee_mismatch": (BUSINESS, "the consignee is not the one the manifest names"),
    "not_bill_owner": (BUSINESS, "another party filed this bill's first manifest"),
    "site_not_registered": (BUSINESS, "a report for a site the sender is not registered for"),
    "too_many_messages": (BUSINESS, "an interchange holding more messages than the hub takes"),
}


@dataclass(frozen=True, slots=True)
class ValidationIssue:
    """One problem. `location` is the element path in the sender's document (XML) or the segment
    position (EDIFACT); `line` the sender's line. `code` is from CODES; '' = the layer's default."""

    location: str
    message: str
    line: int | None = None
    column: int | None = None
    # classification, not identity: two reports of the same problem compare equal
    code: str = field(default="", compare=False)
    layer: str = field(default=SCHEMA, compare=False)

    @property
    def kind(self) -> str:
        return self.code or default_code(self.layer)

    def as_json(self) -> dict[str, Any]:
        return {
            "layer": self.layer,
            "code": self.kind,
            "location": self.location,
            "line": self.line,
            "message": self.message,
        }

    def __str__(self) -> str:
        where = self.location
        if self.line is not None:
            where += f" (line {self.line}" + (f", col {self.column})" if self.column is not None else ")")
        return f"{where}: {self.message}"


def default_code(layer: str) -> str:
    return {SCHEMA: "invalid_value", SEMANTIC: "rule_violated"}.get(layer, "missing_value")


class MessageError(Exception):
    """Base class of every message-layer error."""


class MalformedMessage(MessageError):
    """Not well-formed: truncated, garbage, bad syntax. Carries a position when known."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        self.line = line
        self.column = column
        where = ""
        if line is not None:
            where = f" at line {line}" + (f", column {column}" if column is not None else "")
        super().__init__(f"{message}{where}")


class UnsafeXml(MessageError):
    """The XML uses a construct we refuse for safety (DOCTYPE, entities: XXE, entity expansion bombs)."""


class PayloadTooLarge(MessageError):
    """The payload exceeds the configured size limit."""

    def __init__(self, size: int, limit: int) -> None:
        self.size = size
        self.limit = limit
        super().__init__(f"payload of {size} bytes exceeds the limit of {limit} bytes")


class EncodingError(MessageError):
    """Bytes cannot be decoded in the declared/expected character encoding."""


class UnknownMessageType(MessageError):
    """The payload is well-formed but not a message type we know."""


class ValidationFailed(MessageError):
    """Schema (or semantic) validation failed; `issues` lists ALL problems found, not just the first."""

    def __init__(self, issues: list[ValidationIssue]) -> None:
        self.issues = list(issues)
        head = "; ".join(str(i) for i in self.issues[:5])
        more = f" (+{len(self.issues) - 5} more)" if len(self.issues) > 5 else ""
        super().__init__(f"{len(self.issues)} validation issue(s): {head}{more}")
