"""SOAP 1.1 plumbing: hardened envelope parsing, XSD validation of the body (all errors at once) and
envelope/fault rendering. Knows nothing about tax refunds beyond the schema files."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import xmlschema
from lxml import etree

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_ENV = "http://www.w3.org/2003/05/soap-envelope"
TNS = "urn:swhub:sim:taxrefund:v1"
WSDL_DIR = Path(__file__).resolve().parent / "wsdl"
WSDL_PATH = WSDL_DIR / "tax_refund.wsdl"
XSD_PATH = WSDL_DIR / "tax_refund.xsd"
MAX_BODY_BYTES = 5 * 1024 * 1024
_NS_RE = re.compile(r"\{[^}]*\}|(?<=/)[A-Za-z_][\w.\-]*:")  # Clark namespaces and prefixes


@dataclass(frozen=True)
class FieldError:
    path: str
    message: str
    line: int | None = None


class SoapFaultError(Exception):
    """Turned into a SOAP Fault. `fault_code` is Client (caller's fault, do not retry) or Server."""

    def __init__(
        self,
        fault_code: str,
        code: str,
        message: str,
        errors: list[FieldError] | None = None,
        http_status: int = 500,
    ) -> None:
        super().__init__(message)
        self.fault_code = fault_code
        self.code = code
        self.message = message
        self.errors = errors or []
        self.http_status = http_status


def _safe_parser() -> etree.XMLParser:
    # No DTD loading, no entity expansion, no network: XXE and entity bombs cannot work.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=False,
    )


def parse_envelope(body: bytes) -> etree._Element:
    """Return the single operation element inside soap:Body, or raise a Client fault."""
    if not body.strip():
        raise SoapFaultError("Client", "EMPTY_BODY", "request body is empty")
    if len(body) > MAX_BODY_BYTES:
        raise SoapFaultError("Client", "BODY_TOO_LARGE", f"request body exceeds {MAX_BODY_BYTES} bytes")
    if b"<!DOCTYPE" in body.upper() or b"<!ENTITY" in body.upper():
        # SOAP 1.1 forbids DTDs in messages; refusing them outright also closes XXE.
        raise SoapFaultError("Client", "DTD_FORBIDDEN", "DOCTYPE/ENTITY declarations are not allowed in SOAP")
    try:
        root = etree.fromstring(body, parser=_safe_parser())
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if isinstance(exc.lineno, int) else None
        raise SoapFaultError(
            "Client",
            "MALFORMED_XML",
            f"not well-formed XML: {exc.msg}",
            [FieldError("/", str(exc.msg), line)],
        ) from exc
    if root.getroottree().docinfo.doctype:
        raise SoapFaultError("Client", "DTD_FORBIDDEN", "DOCTYPE declarations are not allowed in SOAP")
    if root.tag == f"{{{SOAP12_ENV}}}Envelope":
        raise SoapFaultError("VersionMismatch", "SOAP_VERSION", "only SOAP 1.1 envelopes are supported")
    if root.tag != f"{{{SOAP_ENV}}}Envelope":
        raise SoapFaultError(
            "Client",
            "NOT_AN_ENVELOPE",
            f"root element is {root.tag}, expected soap:Envelope",
            [FieldError("/", f"root must be {{{SOAP_ENV}}}Envelope", root.sourceline)],
        )
    bodies = root.findall(f"{{{SOAP_ENV}}}Body")
    if len(bodies) != 1:
        raise SoapFaultError(
            "Client", "BAD_ENVELOPE", f"envelope has {len(bodies)} Body elements, expected 1"
        )
    children = [c for c in bodies[0] if isinstance(c.tag, str)]
    if len(children) != 1:
        raise SoapFaultError(
            "Client", "BAD_ENVELOPE", f"soap:Body has {len(children)} element children, expected exactly 1"
        )
    return children[0]


class BodyValidator:
    """Compiled once; validates one operation element and returns every schema error."""

    def __init__(self, xsd_path: Path = XSD_PATH, max_errors: int = 100) -> None:
        self._schema = xmlschema.XMLSchema10(str(xsd_path))
        self._max_errors = max_errors

    def errors(self, element: etree._Element) -> list[FieldError]:
        found: list[FieldError] = []
        for error in self._schema.iter_errors(element):
            elem = error.elem
            line = getattr(elem, "sourceline", None) if elem is not None else None
            path = _NS_RE.sub("", error.path or "/")  # /SubmitRefundApplication/applicationNo
            found.append(FieldError(path, error.reason or str(error.message), line))
            if len(found) >= self._max_errors:
                break
        return found


def envelope(payload: etree._Element) -> bytes:
    env = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soap": SOAP_ENV})
    body = etree.SubElement(env, f"{{{SOAP_ENV}}}Body")
    body.append(payload)
    return etree.tostring(env, xml_declaration=True, encoding="UTF-8")


def fault(fault: SoapFaultError) -> bytes:
    env = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soap": SOAP_ENV, "t": TNS})
    body = etree.SubElement(env, f"{{{SOAP_ENV}}}Body")
    node = etree.SubElement(body, f"{{{SOAP_ENV}}}Fault")
    etree.SubElement(node, "faultcode").text = f"soap:{fault.fault_code}"
    etree.SubElement(node, "faultstring").text = fault.message
    detail = etree.SubElement(etree.SubElement(node, "detail"), f"{{{TNS}}}FaultDetail")
    etree.SubElement(detail, f"{{{TNS}}}code").text = fault.code
    for err in fault.errors:
        item = etree.SubElement(detail, f"{{{TNS}}}error", path=err.path)
        if err.line is not None:
            item.set("line", str(err.line))
        item.text = err.message
    return etree.tostring(env, xml_declaration=True, encoding="UTF-8")
