"""CODECO gate-in report (BGM 34) <-> MT3101 arrival report (运抵报告), per container.

Each container = one EQD group (messages.mapping.equipment); each bill = one GID group (GID
packages, PIA+5 bill number, MEA gross mass). Table: docs/mappings.md, "CODECO <-> MT3101".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from messages.edifact import GroupNode, Segment
from messages.mapping import codeco_gate_out
from messages.mapping.common import Issues, at, fmt_decimal, fmt_int
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
from messages.models.gate import GateOutReport
from messages.models.manifest import Consignment, Manifest, ManifestDeclaration

if TYPE_CHECKING:
    from messages.mapping.provenance import Sources

SPELLING = {
    **HEADER_SPELLING,
    "declaration.consignments.N.bill_no": "PIA+5+<bill>:BM in the GID group",
    "declaration.transport_equipment.N.bill_no": "RFF+BM in the container's EQD group",
}


def to_model(tree: GroupNode, sender: str, receiver: str, issues: Issues) -> Manifest:
    decl = ManifestDeclaration()
    apply_top_refs(tree.segments_of("RFF"), decl)
    apply_remark(tree.segments_of("FTX"), decl)
    ms, mr = apply_header_nads([g.segments[0] for g in tree.groups("NAD")], decl)
    send_time = apply_transport_group(tree.group("TDT"), decl)
    head = head_from(tree.segment("BGM"), "MT3101", pad_send_time(send_time), ms or sender, mr or receiver)
    by_bill: dict[str, Consignment] = {}
    for gid in tree.groups("GID"):
        where = at(gid)
        seg = gid.segments[0]
        c = Consignment(
            bill_no="",
            package_quantity=issues.integer(seg.get(1), where, "number of packages"),
            package_type_code=seg.get(1, 1),
        )
        for s in gid.segments[1:]:
            if s.tag == "PIA" and s.get(1, 1) == "BM":
                c.bill_no = s.get(1)
            elif s.tag == "MEA" and s.get(0) == "AAE":
                c.gross_mass = issues.mass(s.get(2, 1), s.get(2), where, "gross mass")
        if not c.bill_no:
            issues.add(where, "goods item without a bill of lading number (PIA+5+<bill>:BM)")
        decl.consignments.append(c)
        by_bill.setdefault(c.bill_no, c)
    smdg = not decl.consignments  # SMDG gate-in: no GID, the bill is RFF+BM in the EQD group
    for eqd in tree.groups("EQD"):
        box, listed_under, _ptype = container_from(eqd, issues)
        if smdg:
            # the arrival report lists containers, each with its bill (TransportContractDocument)
            box.bill_no = box.bill_no or listed_under
            decl.transport_equipment.append(box)
        elif listed_under:
            owner = by_bill.get(listed_under)
            if owner is None:
                owner = by_bill[listed_under] = Consignment(listed_under)
                decl.consignments.append(owner)
            owner.transport_equipment.append(box)
        else:
            decl.transport_equipment.append(box)
    return Manifest(head, decl)


def note(tree: GroupNode, m: Manifest | GateOutReport, sources: Sources) -> None:
    """Which segment fed which field: header, each bill at its GID group (PIA+5), or for an SMDG
    gate-in without GID at the first EQD group listing it; each container at its EQD group."""
    if isinstance(m, GateOutReport):  # BGM 36
        codeco_gate_out.note(tree, m, sources)
        return
    d = m.declaration
    note_header(tree, m.head, d, sources)
    gids = tree.groups("GID")
    for gid, c in zip(gids, d.consignments, strict=False):
        sources.note(c, "", gid.segments[0])
        sources.note(c, "package_quantity", gid.segments[0])
        for s in gid.segments[1:]:
            if s.tag == "PIA" and s.get(1, 1) == "BM":
                sources.note(c, "bill_no", s)
            elif s.tag == "MEA" and s.get(0) == "AAE":
                sources.note(c, "gross_mass", s)
    by_bill = {c.bill_no: c.transport_equipment for c in d.consignments}
    first = note_containers(tree.groups("EQD"), by_bill, d.transport_equipment, sources)
    for c in d.consignments[len(gids) :]:  # bills known only from an EQD group's RFF+BM
        sources.note(c, "", first.get(c.bill_no))
        sources.note(c, "bill_no", first.get(c.bill_no))


def to_segments(m: Manifest, bgm_code: str) -> list[Segment]:
    d = m.declaration
    segs = [bgm(bgm_code, m.head), *remark(d), *top_refs(d)]
    segs += transport_group(d, m.head, always=True)
    segs += header_nads(m.head, d)
    for n, c in enumerate(d.consignments, 1):
        segs.append(Segment.of("GID", str(n), [fmt_int(c.package_quantity), c.package_type_code]))
        segs.append(Segment.of("PIA", "5", [c.bill_no, "BM"]))
        if c.gross_mass is not None:
            segs.append(Segment.of("MEA", "AAE", "G", ["KGM", fmt_decimal(c.gross_mass)]))
    count = 0
    for c in d.consignments:
        for box in c.transport_equipment:
            segs += container_segments(box, c.bill_no, c.package_type_code)
            count += 1
    for box in d.transport_equipment:
        segs += container_segments(box)
        count += 1
    segs.append(Segment.of("CNT", ["16", str(count)]))
    return segs
