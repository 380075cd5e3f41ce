"""Turn a scenario into what the parties send: the port simulator's vessel calls (JSON for its control
API), summary/complete declarations (single-window XML) and refund applications (XML)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from lxml import etree

from messages.xml import encode, samples
from simulators.customs.traffic import Shipment, declaration
from simulators.scenario.model import Consignment, Refund, Scenario, Vessel

REFUND_NS = "urn:swhub:refund:v1"


@dataclass(frozen=True, slots=True)
class Names:
    """Scenario refs -> the identifiers sent to the hub. `tag` keeps repeated runs against one long-lived
    hub apart (bills, ClientSeqNos and application numbers must be new each time); empty = as written."""

    tag: str = ""

    def bill_no(self, index: int, cons: Consignment) -> str:
        base = cons.bill_no or f"SWHB{index:010d}"
        return f"{base[: 20 - len(self.tag)]}{self.tag}" if self.tag else base

    def client_seq_no(self, cons: Consignment, kind: str, given: str | None) -> str:
        # The first characters steer the customs simulator; the rest only has to be unique.
        digest = hashlib.sha1(f"{cons.ref}/{kind}/{self.tag}".encode()).hexdigest()
        stem = given or ("S" if kind == "summary" else "C")
        return (stem + str(int(digest, 16)))[:18] if len(stem) < 18 else stem[:18]

    def application_no(self, refund: Refund) -> str:
        if not self.tag:
            return refund.application_no
        digits = str(int(hashlib.sha1(self.tag.encode()).hexdigest(), 16) % 10**6).zfill(6)
        return (refund.application_no[: 20 - 6] + digits)[:20]

    def container_no(self, index: int, box: int) -> str:
        serial = (
            index * 100
            + box
            + (int(hashlib.sha1(self.tag.encode()).hexdigest(), 16) % 9000 * 1000 if self.tag else 0)
        )
        return samples.container_no("TGH", serial % 1_000_000)


def iso(when: datetime) -> str:
    return when.isoformat()


def vessel_call(scenario: Scenario, vessel: Vessel, names: Names) -> dict[str, Any]:
    """The port simulator's POST /control/vessel-calls body for one vessel."""
    consignments = []
    for cons in vessel.consignments:
        index = consignment_index(scenario, cons.ref)
        boxes = []
        for box in range(1, cons.containers + 1):
            tally = cons.tally_kg.get(box)
            boxes.append(
                {
                    "number": names.container_no(index, box),
                    "size_type": "45R1",
                    "packages": cons.packages_per_container,
                    "gross_kg": str(cons.kg_per_container),
                    "tally_packages": None,
                    "tally_gross_kg": None if tally is None else str(tally),
                    "discharged": box not in cons.not_discharged,
                }
            )
        consignments.append(
            {
                "bill_no": names.bill_no(index, cons),
                "goods": cons.goods,
                "hs_code": cons.hs_code,
                "destination_site": cons.destination_site,
                "consignee": consignee_of(scenario, cons),
                "containers": boxes,
            }
        )
    return {
        "call_id": f"{vessel.id}{names.tag}",
        "vessel_name": vessel.name,
        "voyage_no": vessel.voyage,
        "arrival": iso(scenario.at(vessel.arrival)),
        "manifest_at": iso(scenario.at(vessel.manifest_at)),
        "manifest_format": vessel.manifest_format,
        "tally_format": vessel.tally_format,
        "gate_format": vessel.gate_format,
        "discharge_start": iso(scenario.at(vessel.discharge_start)),
        "discharge_interval_seconds": scenario_seconds(vessel.discharge_interval),
        "consignments": consignments,
    }


def consignee_of(scenario: Scenario, cons: Consignment) -> str | None:
    """The manifest's consignee: the importer the bill's declarations name (the hub checks they match)."""
    for kind in ("summary", "complete"):
        declare = getattr(cons.declarations, kind, None)
        if declare is not None and declare.importer:
            return scenario.parties[declare.importer].uscc
    return None


def scenario_seconds(offset: str) -> float:
    from simulators.scenario.durations import parse_offset

    return parse_offset(offset).total_seconds()


def consignment_index(scenario: Scenario, ref: str) -> int:
    return 1 + [c.ref for _, c in scenario.consignments()].index(ref)


def declaration_xml(
    scenario: Scenario, cons: Consignment, kind: str, names: Names, summary_entry_id: str = ""
) -> bytes:
    declare = getattr(cons.declarations, kind)
    index = consignment_index(scenario, cons.ref)
    boxes = tuple(names.container_no(index, b) for b in range(1, cons.containers + 1))
    shipment = Shipment(names.bill_no(index, cons), boxes)
    decl = declaration(
        kind,
        shipment,
        names.client_seq_no(cons, kind, declare.client_seq_no),
        gross_kg=declare.gross_kg
        if declare.gross_kg is not None
        else cons.kg_per_container * cons.containers,
        summary_entry_id=summary_entry_id,
        declarant=scenario.parties[declare.by].uscc,
    )
    decl.head.pack_no = cons.packages_per_container * cons.containers
    if declare.importer:
        decl.head.trade_co_scc = decl.head.owner_code_scc = scenario.parties[declare.importer].uscc
    return encode(decl)


def refund_xml(scenario: Scenario, refund: Refund, names: Names, export_date: str) -> bytes:
    """A RefundApplication (xsd/refund/RefundApplication.xsd): one export declaration, one VAT invoice."""
    root = etree.Element(f"{{{REFUND_NS}}}RefundApplication", nsmap={None: REFUND_NS})

    def add(parent: etree._Element, name: str, value: object) -> etree._Element:
        node = etree.SubElement(parent, f"{{{REFUND_NS}}}{name}")
        node.text = str(value)
        return node

    number = names.application_no(refund)
    amount = refund.amount
    fob = (amount / Decimal("0.13")).quantize(Decimal("0.01"))
    add(root, "ApplicationNo", number)
    add(root, "ExporterUscc", scenario.parties[refund.exporter].uscc)
    add(root, "AccountNo", refund.account_no)
    add(root, "AccountName", scenario.parties[refund.exporter].name)
    decs = etree.SubElement(root, f"{{{REFUND_NS}}}Declarations")
    dec = etree.SubElement(decs, f"{{{REFUND_NS}}}Declaration")
    add(dec, "EntryId", f"4227{export_date[:4]}1{number[-9:].zfill(9)}")
    add(dec, "ExportDate", export_date)
    add(dec, "FobAmountCny", f"{fob:.2f}")
    add(dec, "RefundAmountCny", f"{amount:.2f}")
    invs = etree.SubElement(root, f"{{{REFUND_NS}}}Invoices")
    inv = etree.SubElement(invs, f"{{{REFUND_NS}}}Invoice")
    add(inv, "InvoiceNo", number[-8:].zfill(8))
    add(inv, "Amount", f"{fob:.2f}")
    add(inv, "TaxAmount", f"{amount:.2f}")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
