"""COARRI discharge (BGM 44) <-> MT5101 import tally; loading (BGM 46/270) <-> MT5102, per container.

COARRI has no goods-item group, so a bill's tally totals are carried by its containers: every EQD
listed under a bill (RFF+BM) gives its package count and gross mass, and the bill's
ConsignmentPackaging quantity / gross mass are their sums. A bill whose totals are not the sum of
its containers (or a bill without containers) cannot be written and is reported by the lossless
check. Table: docs/mappings.md, "COARRI <-> MT5101 / MT5102".
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from messages.edifact import GroupNode, Segment
from messages.mapping.common import Issues
from messages.mapping.cuscar import pad_send_time
from messages.mapping.equipment import container_from, container_segments, note_containers
from messages.mapping.manifest_header import SPELLING as HEADER_SPELLING
from messages.mapping.manifest_header import (
    apply_header_nads,
    apply_remark,
    apply_top_refs,
    apply_transport_group,
    bgm,
    head_from,
    header_nads,
    note_header,
    remark,
    top_refs,
    transport_group,
)
from messages.models.manifest import Consignment, Manifest, ManifestDeclaration

if TYPE_CHECKING:
    from messages.mapping.provenance import Sources

SPELLING = {
    **HEADER_SPELLING,
    "declaration.consignments.N.bill_no": "RFF+BM in the container's EQD group",
}


def to_model(tree: GroupNode, message_type: str, sender: str, receiver: str, issues: Issues) -> Manifest:
    decl = ManifestDeclaration()
    apply_top_refs(tree.segments_of("RFF"), decl)
    apply_remark(tree.segments_of("FTX"), decl)
    ms, mr = apply_header_nads([g.segments[0] for g in tree.groups("NAD")], decl)
    send_time = apply_transport_group(tree.group("TDT"), decl)
    head = head_from(
        tree.segment("BGM"), message_type, pad_send_time(send_time), ms or sender, mr or receiver
    )
    by_bill: dict[str, Consignment] = {}
    for eqd in tree.groups("EQD"):
        box, listed_under, package_type = container_from(eqd, issues)
        if not listed_under:
            decl.transport_equipment.append(box)
            continue
        c = by_bill.get(listed_under)
        if c is None:
            c = by_bill[listed_under] = Consignment(listed_under, package_type_code=package_type)
            decl.consignments.append(c)
        c.transport_equipment.append(box)
        if box.package_quantity is not None:
            c.package_quantity = (c.package_quantity or 0) + box.package_quantity
        if box.gross_mass is not None:
            c.gross_mass = (c.gross_mass or Decimal(0)) + box.gross_mass
    for c in by_bill.values():
        if c.package_quantity is None and all(b.package_quantity is None for b in c.transport_equipment):
            # SMDG terminals count boxes, not packages: the bill's packages are its containers
            # (UN/ECE Rec. 21 "CN"), written back as no MEA+CT at all
            c.package_quantity = len(c.transport_equipment)
            c.package_type_code = c.package_type_code or "CN"
    return Manifest(head, decl)


def note(tree: GroupNode, m: Manifest, sources: Sources) -> None:
    """Which segment fed which field: header, then each bill at the first EQD group listing it
    (RFF+BM), each container at its EQD group."""
    d = m.declaration
    note_header(tree, m.head, d, sources)
    by_bill = {c.bill_no: c.transport_equipment for c in d.consignments}
    first = note_containers(tree.groups("EQD"), by_bill, d.transport_equipment, sources)
    for c in d.consignments:
        bm = first.get(c.bill_no)
        sources.note(c, "", bm)
        sources.note(c, "bill_no", bm)


def to_segments(m: Manifest, bgm_code: str) -> list[Segment]:
    d = m.declaration
    segs = [bgm(bgm_code, m.head), *remark(d), *top_refs(d)]
    segs += transport_group(d, m.head, always=True)
    segs += header_nads(m.head, d)
    count = 0
    for c in d.consignments:
        boxes_only = (
            c.package_type_code == "CN"
            and c.package_quantity == len(c.transport_equipment)
            and all(b.package_quantity is None for b in c.transport_equipment)
        )
        for box in c.transport_equipment:
            segs += container_segments(box, c.bill_no, "" if boxes_only else c.package_type_code)
            count += 1
    for box in d.transport_equipment:
        segs += container_segments(box)
        count += 1
    segs.append(Segment.of("CNT", ["16", str(count)]))
    return segs
