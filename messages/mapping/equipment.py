"""Per-container EQD groups shared by CODECO (gate-in) and COARRI (discharge/loading).

One EQD group per container: EQD size-type/supplier/full-empty, RFF+BM = the bill the container is
listed under (a consignment-level TransportEquipment), RFF+AAQ = the container's own bill link
(declaration-level TransportEquipment/TransportContractDocument), MEA+AAE gross mass, MEA+CT
package count (unit = package type), SEL seals.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from messages.edifact import GroupNode, Segment
from messages.mapping.common import (
    Issues,
    agencies_of,
    at,
    check_equipment,
    fmt_decimal,
    fmt_int,
    seal_segments,
)
from messages.mapping.cuscar import equipment_segment
from messages.models.manifest import TransportEquipment

if TYPE_CHECKING:
    from messages.mapping.provenance import Sources


def container_segments(
    box: TransportEquipment, consignment_bill: str = "", package_type: str = ""
) -> list[Segment]:
    segs = [equipment_segment(box)]
    if consignment_bill:
        segs.append(Segment.of("RFF", ["BM", consignment_bill]))
    if box.bill_no:
        segs.append(Segment.of("RFF", ["AAQ", box.bill_no]))
    if box.gross_mass is not None:
        segs.append(Segment.of("MEA", "AAE", "G", ["KGM", fmt_decimal(box.gross_mass)]))
    if box.package_quantity is not None:
        segs.append(Segment.of("MEA", "CT", "AAD", [package_type, fmt_int(box.package_quantity)]))
    segs += seal_segments(box.seal_ids, box.seal_agencies)
    return segs


def container_from(node: GroupNode, issues: Issues) -> tuple[TransportEquipment, str, str]:
    """(container, bill it is listed under or "", package type from MEA+CT)."""
    seg = node.segments[0]
    where = at(node)
    box = TransportEquipment(
        equipment_id=seg.get(1),
        characteristic_code=seg.get(2),
        supplier_party_type_code=seg.get(3),
        fullness_code=seg.get(5),
    )
    if not box.equipment_id:
        issues.add(where, "EQD without a container number")
    check_equipment(seg, where, issues)
    listed_under = package_type = ""
    for s in node.segments[1:]:
        tag, q = s.tag, s.get(0)
        if tag == "RFF":
            if q == "BM":
                listed_under = s.get(0, 1)
            elif q == "AAQ":
                box.bill_no = s.get(0, 1)
        elif tag == "MEA":
            if q == "AAE":
                # SMDG: G gross, VGM verified gross (SOLAS), T tare, EGW empty weight; the model
                # holds the gross mass (G, else VGM); tare and empty weight are not carried
                kind = s.get(1)
                if kind in ("G", "AAB", "") or (kind == "VGM" and box.gross_mass is None):
                    box.gross_mass = issues.mass(s.get(2, 1), s.get(2), where, "gross mass")
            elif q == "CT":
                package_type = s.get(2)
                box.package_quantity = issues.integer(s.get(2, 1), where, "package count")
        elif tag == "SEL":
            box.seal_ids.append(q)
    box.seal_agencies = agencies_of([s for s in node.segments[1:] if s.tag == "SEL"])
    return box, listed_under, package_type


def note_container(node: GroupNode, box: TransportEquipment, sources: Sources) -> None:
    """Which segments of one EQD group fed the container (the reader above, the other way)."""
    eqd = node.segments[0]
    for attr in ("", "equipment_id", "characteristic_code", "supplier_party_type_code", "fullness_code"):
        sources.note(box, attr, eqd)
    for s in node.segments[1:]:
        q = s.get(0)
        if s.tag == "RFF" and q == "AAQ":
            sources.note(box, "bill_no", s)
        elif s.tag == "MEA" and q == "AAE":
            sources.note(box, "gross_mass", s)
        elif s.tag == "MEA" and q == "CT":
            sources.note(box, "package_quantity", s)
        elif s.tag == "SEL":
            sources.note(box, "seal_ids", s)
            sources.note(box, "seal_agencies", s)


def note_containers(
    eqds: list[GroupNode],
    by_bill: dict[str, list[TransportEquipment]],
    loose: list[TransportEquipment],
    sources: Sources,
) -> dict[str, Segment]:
    """Pair EQD groups with the containers read from them, in message order: those listed under a
    bill (RFF+BM) with that bill's containers, the others with ``loose``. Returns bill -> the first
    RFF+BM naming it."""
    taken = {bill: iter(boxes) for bill, boxes in by_bill.items()}
    rest = iter(loose)
    first: dict[str, Segment] = {}
    for node in eqds:
        bm = node.segment("RFF", "BM")
        bill = bm.get(0, 1) if bm is not None else ""
        if bill and bill in taken:
            first.setdefault(bill, bm)  # type: ignore[arg-type]
            box = next(taken[bill], None)
        else:
            box = next(rest, None)
        if box is not None:
            note_container(node, box, sources)
    return first
