"""Single-window XML codecs: hardened parsing, XSD validation, canonical-model binding.

Public entry points:
    decode(data: bytes) -> object               canonical model of any supported XML family
    encode(model) -> bytes                      schema-valid UTF-8 XML for a canonical model
    validate(data: bytes) -> list[ValidationIssue]   all schema (then semantic) issues, [] if valid
    messages.xml.declaration.parse_declaration / render_declaration   DecMessage <-> Declaration
"""

from messages.xml.codec import decode, encode, validate

__all__ = ["decode", "encode", "validate"]
