"""Parse and validate a refund filing (xsd/refund/RefundApplication.xsd): hardened parse, schema
validation, then business checks; every problem is reported at once with its location."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from lxml import etree

from messages.errors import MessageError
from messages.xml.safe import parse as safe_parse

NS = "urn:swhub:refund:v1"
XSD_PATH = Path(__file__).resolve().parents[3] / "xsd" / "refund" / "RefundApplication.xsd"


@dataclass(frozen=True, slots=True)
class Problem:
    location: str
    message: str
    line: int | None = None

    def as_json(self) -> dict[str, object]:
        return {"location": self.location, "message": self.message, "line": self.line}


class FilingInvalid(ValueError):
    """The filing is not acceptable; `problems` lists every reason."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{p.location}: {p.message}" for p in problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class DeclarationLine:
    entry_id: str
    fob_amount_cny: Decimal
    refund_amount_cny: Decimal
    export_date: date | None


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    invoice_no: str
    amount: Decimal
    tax_amount: Decimal


@dataclass(frozen=True, slots=True)
class Filing:
    application_no: str
    exporter_uscc: str | None
    account_no: str
    account_name: str | None
    declarations: tuple[DeclarationLine, ...]
    invoices: tuple[InvoiceLine, ...]
    fx_receipt_proof: str | None

    @property
    def refund_total(self) -> Decimal:
        return sum((d.refund_amount_cny for d in self.declarations), Decimal("0.00"))


@lru_cache(maxsize=1)
def _schema_doc() -> etree._ElementTree:
    return etree.parse(str(XSD_PATH))


def _schema() -> etree.XMLSchema:
    # XMLSchema objects are not thread-safe for validation: one per call, from a cached document.
    return etree.XMLSchema(_schema_doc())


def _text(node: etree._Element, name: str) -> str | None:
    child = node.find(f"{{{NS}}}{name}")
    return child.text.strip() if child is not None and child.text else None


def parse_filing(data: bytes, max_bytes: int = 5 * 1024 * 1024) -> Filing:
    """Bytes -> Filing, or FilingInvalid listing every problem (parse, schema, business rules)."""
    try:
        root = safe_parse(data, max_bytes=max_bytes)
    except MessageError as exc:
        line = getattr(exc, "line", None)
        raise FilingInvalid([Problem("/", str(exc), line)]) from None
    schema = _schema()
    if not schema.validate(root):
        problems = [
            Problem(e.path or "/", e.message, e.line)
            for e in schema.error_log  # type: ignore[attr-defined]
        ]
        raise FilingInvalid(problems)
    declarations = tuple(
        DeclarationLine(
            entry_id=_text(d, "EntryId") or "",
            fob_amount_cny=Decimal(_text(d, "FobAmountCny") or "0"),
            refund_amount_cny=Decimal(_text(d, "RefundAmountCny") or "0"),
            export_date=date.fromisoformat(v[:10]) if (v := _text(d, "ExportDate")) else None,
        )
        for d in root.iter(f"{{{NS}}}Declaration")
    )
    invoices = tuple(
        InvoiceLine(
            invoice_no=_text(i, "InvoiceNo") or "",
            amount=Decimal(_text(i, "Amount") or "0"),
            tax_amount=Decimal(_text(i, "TaxAmount") or "0"),
        )
        for i in root.iter(f"{{{NS}}}Invoice")
    )
    filing = Filing(
        application_no=_text(root, "ApplicationNo") or "",
        exporter_uscc=_text(root, "ExporterUscc"),
        account_no=_text(root, "AccountNo") or "",
        account_name=_text(root, "AccountName"),
        declarations=declarations,
        invoices=invoices,
        fx_receipt_proof=_text(root, "FxReceiptProof"),
    )
    problems = business_problems(filing)
    if problems:
        raise FilingInvalid(problems)
    return filing


def business_problems(filing: Filing) -> list[Problem]:
    """Checks the schema cannot express (all of them, not the first)."""
    problems: list[Problem] = []
    seen: set[str] = set()
    for i, d in enumerate(filing.declarations, start=1):
        where = f"/RefundApplication/Declarations/Declaration[{i}]"
        if d.entry_id in seen:
            problems.append(Problem(f"{where}/EntryId", f"declaration {d.entry_id} is listed twice"))
        seen.add(d.entry_id)
        if d.refund_amount_cny > d.fob_amount_cny:
            problems.append(
                Problem(
                    f"{where}/RefundAmountCny", f"refund {d.refund_amount_cny} exceeds FOB {d.fob_amount_cny}"
                )
            )
    invoices: set[str] = set()
    for i, inv in enumerate(filing.invoices, start=1):
        where = f"/RefundApplication/Invoices/Invoice[{i}]"
        if inv.invoice_no in invoices:
            problems.append(Problem(f"{where}/InvoiceNo", f"invoice {inv.invoice_no} is listed twice"))
        invoices.add(inv.invoice_no)
        if inv.tax_amount > inv.amount:
            problems.append(Problem(f"{where}/TaxAmount", "tax amount exceeds the invoice amount"))
    input_vat = sum((i.tax_amount for i in filing.invoices), Decimal("0"))
    if filing.refund_total > input_vat:
        problems.append(
            Problem(
                "/RefundApplication/Invoices",
                f"claimed refund {filing.refund_total} exceeds the input VAT on the invoices {input_vat}",
            )
        )
    return problems


def render_filing(filing: Filing) -> bytes:
    """The XML form of a Filing (used by tests and the load generator; round-trips parse_filing)."""
    root = etree.Element(f"{{{NS}}}RefundApplication", nsmap={None: NS})

    def add(parent: etree._Element, name: str, value: object | None) -> None:
        if value is not None:
            etree.SubElement(parent, f"{{{NS}}}{name}").text = str(value)

    add(root, "ApplicationNo", filing.application_no)
    add(root, "ExporterUscc", filing.exporter_uscc)
    add(root, "AccountNo", filing.account_no)
    add(root, "AccountName", filing.account_name)
    decs = etree.SubElement(root, f"{{{NS}}}Declarations")
    for d in filing.declarations:
        node = etree.SubElement(decs, f"{{{NS}}}Declaration")
        add(node, "EntryId", d.entry_id)
        add(node, "ExportDate", d.export_date.isoformat() if d.export_date else None)
        add(node, "FobAmountCny", f"{d.fob_amount_cny:.2f}")
        add(node, "RefundAmountCny", f"{d.refund_amount_cny:.2f}")
    invs = etree.SubElement(root, f"{{{NS}}}Invoices")
    for inv in filing.invoices:
        node = etree.SubElement(invs, f"{{{NS}}}Invoice")
        add(node, "InvoiceNo", inv.invoice_no)
        add(node, "Amount", f"{inv.amount:.2f}")
        add(node, "TaxAmount", f"{inv.tax_amount:.2f}")
    add(root, "FxReceiptProof", filing.fx_receipt_proof)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
