"""CUSCAR (BGM 85, customs cargo report) <-> MT1101 original manifest.

CNI group = Consignment (B/L in CNI and RFF+BM), its parties NAD+CZ/CN/N1 (+CS consolidator), its
goods GID/FTX/MEA/PCI/CST/DGS/SGP = ConsignmentItem, containers EQD/SEL at message level linked to
goods by SGP = TransportEquipment. Field table: docs/mappings.md, "CUSCAR <-> MT1101".
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from messages.edifact import GroupNode, Segment
from messages.edifact.directory import load
from messages.mapping.common import (
    Issues,
    agencies_of,
    at,
    check_equipment,
    dtm_text,
    fmt_decimal,
    fmt_int,
    joined,
    seal_segments,
    text_chunks,
)
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
from messages.models.manifest import (
    Communication,
    Consignment,
    ConsignmentItem,
    Location,
    Manifest,
    ManifestDeclaration,
    Party,
    TransportEquipment,
)

if TYPE_CHECKING:
    from messages.mapping.provenance import Sources

PARTY_ROLES = (("CZ", "consignor"), ("CN", "consignee"), ("N1", "notify_party"))
_ROLE_ATTR = dict(PARTY_ROLES)
_ZERO = Decimal(0)


def pad_send_time(value: str) -> str:
    """EDIFACT dates carry minutes (203) or seconds (204); the manifest wants 17 digits."""
    if value.isdigit() and len(value) in (12, 14):
        return value.ljust(17, "0")
    return value


# ------------------------------------------------------------------------------ EDIFACT -> model


def _int(value: str, issues: Issues, node: GroupNode, what: str) -> int | None:
    # the common case (a plain ASCII number) without building the location string
    if value.isdigit() and value.isascii() and len(value) <= 15:
        return int(value)
    return issues.integer(value, at(node), what)


def party_from(nad: Segment, node: GroupNode | None) -> Party:
    # get() per value: cheaper than splitting (and unescaping) every element of the NAD
    g = nad.get
    party = Party(
        g(3) + g(3, 1) + g(3, 2) + g(3, 3) + g(3, 4),
        g(1),
        g(4) + g(4, 1) + g(4, 2) + g(4, 3),
        g(5),
        g(6),
        g(6, 1),
        g(7),
        g(8),
    )
    if node is not None and node.children:
        for contact in node.groups("CTA"):
            party.contact_name = contact.segments[0].get(1, 1)
            party.communications += [
                Communication(com.get(0), com.get(0, 1)) for com in contact.segments[1:] if com.tag == "COM"
            ]
    return party


def equipment_from(eqd: GroupNode) -> TransportEquipment:
    seg = eqd.segments[0]
    sels = [s for s in eqd.segments[1:] if s.tag == "SEL"]
    return TransportEquipment(
        equipment_id=seg.get(1),
        characteristic_code=seg.get(2),
        supplier_party_type_code=seg.get(3),
        fullness_code=seg.get(5),
        seal_ids=[s.get(0) for s in sels],
        seal_agencies=agencies_of(sels),
    )


def item_from(gid: GroupNode, issues: Issues) -> ConsignmentItem:
    segs = gid.segments
    seg = segs[0]
    item = ConsignmentItem(
        _int(seg.get(0), issues, gid, "goods item number") or 0,
        "",
        _int(seg.get(1), issues, gid, "number of packages"),
        seg.get(1, 1),
    )
    equipment: list[str] = []
    for s in segs[1:]:
        tag = s.tag
        if tag == "FTX":
            if s.get(0) == "AAA":
                g = s.get
                item.cargo_description = g(3) + g(3, 1) + g(3, 2) + g(3, 3) + g(3, 4)
        elif tag == "MEA":
            if s.get(0) == "AAE":
                item.gross_mass = issues.mass(s.get(2, 1), s.get(2), at(gid), "gross mass")
        elif tag == "SGP":
            equipment.append(s.get(0))
        elif tag == "PCI":
            item.marks_numbers = joined(s, 1, 0, 10)
        elif tag == "CST":
            item.hs_code = s.get(1)
        elif tag == "DGS":
            item.undg_code = s.get(2)
    item.equipment_ids = equipment
    return item


def consignment_from(
    cni: GroupNode,
    containers: dict[str, TransportEquipment],
    issues: Issues,
    bulk: dict[str, str] | None = None,
) -> Consignment:
    """One CNI group; ``bulk`` = equipment id -> EQD qualifier of the equipment that is no container."""
    bulk = bulk or {}
    segs = cni.segments
    head = segs[0]
    c = Consignment(head.get(1), head.get(1, 1))
    for s in segs[1:]:
        if s.tag == "CNT":
            q = s.get(0)
            if q == "11":
                c.package_quantity = _int(s.get(0, 1), issues, cni, "total packages")
                c.package_type_code = s.get(0, 2)
            elif q == "7":
                c.gross_mass = issues.mass(s.get(0, 1), s.get(0, 2), at(cni), "total gross mass")
            elif q == "15":
                c.gross_volume = issues.decimal(s.get(0, 1), at(cni), "gross volume")
    bill_seen = False
    for ref in cni.children:
        if ref.trigger != "RFF":
            continue
        rff = ref.segments[0]
        q = rff.get(0)
        if q in ("BH", "HB"):  # house bill: BH (D.95B code list), HB in some carriers' guides
            c.house_bill_no = rff.get(0, 1)
            continue
        if q != "BM" or bill_seen:
            continue
        bill_seen = True
        bill = rff.get(0, 1)
        if bill and c.bill_no and bill != c.bill_no:
            # carriers number the CNI (e.g. UK LOT10: '<bill>-0'); RFF+BM is the bill of lading itself
            issues.warn(
                at(ref),
                f"RFF+BM {bill!r} differs from the CNI document number {c.bill_no!r}: the bill is "
                "taken from RFF+BM (the CNI number is not carried by MT1101)",
            )
        c.bill_no = bill or c.bill_no
        if len(ref.segments) > 1:
            _bill_details(ref, c, issues)
        items: list[ConsignmentItem] = []
        for child in ref.children:  # one pass: NAD groups (parties) and GID groups (goods)
            trigger = child.trigger
            if trigger == "GID":
                items.append(item_from(child, issues))
                if not items[-1].cargo_description:
                    issues.add(
                        at(child),
                        f"goods item {items[-1].sequence_numeric}: no description of the "
                        "goods (MT1101 CargoDescription): add FTX+AAA to this GID group",
                    )
            elif trigger == "NAD":
                nad = child.segments[0]
                role = nad.get(0)
                if role in _ROLE_ATTR:
                    party = party_from(nad, child)
                    if not party.name and nad.get(2):
                        # C058 (name and address, unstructured lines) instead of C080 party name:
                        # its first line is the name, the others the address
                        lines = [x for x in nad.elements[2][:5] if x]
                        party.name = lines[0]
                        if not party.address_line:
                            party.address_line = " ".join(lines[1:])
                        issues.warn(
                            at(child),
                            f"NAD+{role}: no party name (C080); name and address are taken from the "
                            "unstructured name and address lines (C058)",
                        )
                    setattr(c, _ROLE_ATTR[role], party)
                elif role == "CS":
                    c.consolidator_id = nad.get(1)
        c.items = items
    _default_totals(c)
    if not c.bill_no:
        issues.add(at(cni), "consignment without a bill of lading number (CNI 1004 / RFF+BM)")
    for role, party, what in (("CZ", c.consignor, "consignor (shipper)"), ("CN", c.consignee, "consignee")):
        if party is None or not (party.id or party.name):
            issues.add(
                at(cni),
                f"bill {c.bill_no or '?'}: no {what}: add NAD+{role} with its name or code "
                "under the bill's RFF+BM",
            )
        elif not party.name:
            # MT1101 Consignor/Consignee Name is mandatory (an..70): a code alone is not enough
            issues.add(
                at(cni),
                f"bill {c.bill_no or '?'}: NAD+{role} {party.id!r} has no name: add the party name "
                "(NAD C080, or name and address lines C058)",
            )
        elif len(party.name) > 70:
            issues.add(
                at(cni),
                f"bill {c.bill_no or '?'}: NAD+{role} name is {len(party.name)} characters, MT1101 allows 70",
            )
    for item in c.items:
        for code in {item.package_type_code, c.package_type_code} - {""}:
            if len(code) != 2 or not code.isalnum() or not code.isupper() and not code.isdigit():
                issues.add(
                    at(cni),
                    f"bill {c.bill_no or '?'}: package type {code!r} (GID/CNT+11) is not a "
                    "two-character UN/ECE Rec. 21 code (e.g. PK, CT, BG)",
                )
                break
    items = c.items
    if len(items) == 1:
        ids = items[0].equipment_ids
        seen = ids if len(ids) < 2 else list(dict.fromkeys(ids))
    else:
        seen = list(dict.fromkeys(eid for item in items for eid in item.equipment_ids))
    boxes = c.transport_equipment
    for eid in seen:
        if eid in bulk:
            # EQD+BL etc.: not a container, MT1101 lists containers only
            issues.warn(
                at(cni), f"SGP+{eid} refers to equipment that is not a container (EQD+{bulk[eid]}): left out"
            )
            for item in items:
                item.equipment_ids = [x for x in item.equipment_ids if x != eid]
            continue
        box = containers.get(eid)
        if box is None:
            issues.add(at(cni), f"SGP refers to container {eid!r} that has no EQD segment")
            box = TransportEquipment(eid)
        boxes.append(_copy(box))
    return c


def _default_totals(c: Consignment) -> None:
    """Without CNT+11 / CNT+7 the bill totals are the sums over its goods items (MT1101 needs them)."""
    need_qty = c.package_quantity is None
    need_mass = c.gross_mass is None
    if not (need_qty or need_mass):
        return
    qty: int | None = None
    mass: Decimal | None = None  # Decimal(0) + masses, as sum() did (keeps the exponent rules)
    type_code = ""
    first = True
    for i in c.items:
        if first:
            type_code = i.package_type_code
            first = False
        if i.package_quantity is not None:
            qty = (qty or 0) + i.package_quantity
        if i.gross_mass is not None:
            mass = (_ZERO if mass is None else mass) + i.gross_mass
    if need_qty and qty is not None:
        c.package_quantity = qty
        c.package_type_code = c.package_type_code or type_code
    if need_mass and mass is not None:
        c.gross_mass = mass


def _copy(box: TransportEquipment) -> TransportEquipment:
    return TransportEquipment(
        box.equipment_id,
        box.characteristic_code,
        box.supplier_party_type_code,
        box.fullness_code,
        list(box.seal_ids),
        list(box.seal_agencies),
    )


def _bill_details(ref: GroupNode, c: Consignment, issues: Issues) -> None:
    where = at(ref)
    for s in ref.segments[1:]:
        q = s.get(0)
        if s.tag == "MOA" and q == "44":
            c.value_amount = issues.decimal(s.get(0, 1), where, "value amount")
            c.value_currency = s.get(0, 2)
        elif s.tag == "LOC":
            if q == "9":
                c.loading_location_id = s.get(1)
            elif q == "11":
                c.unloading_location_id = s.get(1)
            elif q == "88":
                c.goods_receipt_place_id = s.get(1)
                c.goods_receipt_place_name = s.get(1, 3)
        elif s.tag in ("GIS", "GEI"):
            # D.03B and later replaced GIS+<code>:<list> by GEI+<qualifier>+<code>:<list>
            k = 0 if s.tag == "GIS" else 1
            if s.get(k, 1) == "AMD":
                c.change_reason_code = s.get(k)
            else:
                c.customs_status_code = s.get(k)
        elif s.tag == "CPI":
            c.freight_payment_method_code = s.get(1)


def to_model(tree: GroupNode, sender: str, receiver: str, issues: Issues) -> Manifest:
    decl = ManifestDeclaration()
    # D.95B: header RFF/NAD are segments; D.96B and later: groups (RFF, NAD triggers) - read both
    refs = tree.segments_of("RFF") + [g.segments[0] for g in tree.groups("RFF")]
    apply_top_refs(refs, decl)
    apply_remark(tree.segments_of("FTX"), decl)
    ms, mr = apply_header_nads(tree.segments_of("NAD") + [g.segments[0] for g in tree.groups("NAD")], decl)
    send_time = apply_transport_group(tree.group("TDT"), decl)
    for d in tree.segments_of("DTM"):
        if d.get(0) == "137":
            send_time = dtm_text(d)
    head = head_from(tree.segment("BGM"), "MT1101", pad_send_time(send_time), ms or sender, mr or receiver)
    containers: dict[str, TransportEquipment] = {}
    bulk: dict[str, str] = {}
    for eqd in tree.groups("EQD"):
        q = eqd.segments[0].get(0)
        if q not in ("CN", ""):  # BL (bulk), TE (trailer), ...: no container number to carry
            bulk.setdefault(eqd.segments[0].get(1), q)
            continue
        check_equipment(eqd.segments[0], at(eqd), issues)
        box = equipment_from(eqd)
        containers.setdefault(box.equipment_id, box)
    decl.consignments = [consignment_from(cni, containers, issues, bulk) for cni in tree.groups("CNI")]
    _header_facts_elsewhere(tree, decl, issues)
    _required_header_facts(tree, decl, issues)
    return Manifest(head, decl)


def _header_facts_elsewhere(tree: GroupNode, decl: ManifestDeclaration, issues: Issues) -> None:
    """Header facts carriers put elsewhere, each taken with a warning naming where it came from:
    the carrier from TDT C040 (no NAD+CA), the place of unloading from LOC+60 (place of arrival)
    in the TDT group, the places of loading / unloading from the bills' own LOC+9 / LOC+11 when
    every bill names the same one."""
    tdt = tree.group("TDT")
    where = at(tdt) if tdt is not None else "segment 2 (BGM)"
    if not decl.carrier_id and tdt is not None and tdt.segments[0].get(4):
        decl.carrier_id = tdt.segments[0].get(4)
        issues.warn(where, f"no NAD+CA: the carrier {decl.carrier_id!r} is taken from TDT C040")
    if decl.unloading_location is None and tdt is not None:
        for seg in tdt.segments[1:] + [s for g in tdt.children for s in g.segments]:
            if seg.tag == "LOC" and seg.get(0) == "60" and seg.get(1):
                decl.unloading_location = Location(seg.get(1))
                issues.warn(at(tdt), f"no LOC+11: the place of unloading is LOC+60 {seg.get(1)!r}")
                break
    for attr, q, what in (
        ("loading_location", "9", "loading"),
        ("unloading_location", "11", "unloading"),
    ):
        if getattr(decl, attr) is not None:
            continue
        ids = {getattr(c, f"{attr}_id") for c in decl.consignments}
        if len(ids) == 1 and (only := ids.pop()):
            setattr(decl, attr, Location(only))
            issues.warn(
                where, f"no LOC+{q} in the TDT group: the place of {what} is the bills' LOC+{q} {only!r}"
            )


def _required_header_facts(tree: GroupNode, decl: ManifestDeclaration, issues: Issues) -> None:
    """What MT1101 cannot go without, refused in the sender's terms (before, the generated MT1101
    failed its schema and the sender was told of a hub defect)."""
    tdt = tree.group("TDT")
    where = at(tdt) if tdt is not None else "segment 2 (BGM)"
    if not decl.carrier_id:
        issues.add("segment 2 (BGM)", "no carrier: add NAD+CA with the carrier's code (header NAD)")
    if decl.loading_location is None:
        issues.add(where, "no place of loading: add LOC+9 to the TDT group")
    if decl.unloading_location is None:
        issues.add(where, "no place of unloading: add LOC+11 to the TDT group")


# ------------------------------------------------------------------------------ model -> EDIFACT


def party_segments(role: str, p: Party) -> list[Segment]:
    sub = (
        [p.country_sub_entity_id, p.country_sub_entity_name]
        if p.country_sub_entity_name
        else [p.country_sub_entity_id]
    )
    segs = [
        Segment.of(
            "NAD",
            role,
            p.id,
            "",
            text_chunks(p.name, 35, 5),
            text_chunks(p.address_line, 35, 4),
            p.city_name,
            sub,
            p.postcode_id,
            p.country_code,
        )
    ]
    if p.contact_name or p.communications:
        segs.append(Segment.of("CTA", "IC", ["", p.contact_name]))
        segs += [Segment.of("COM", [com.id, com.type_id]) for com in p.communications]
    return segs


def equipment_segment(box: TransportEquipment) -> Segment:
    size = [box.characteristic_code, "102", "5"] if box.characteristic_code else [""]
    return Segment.of(
        "EQD", "CN", box.equipment_id, size, box.supplier_party_type_code, "", box.fullness_code
    )


def item_segments(item: ConsignmentItem) -> list[Segment]:
    segs = [
        Segment.of(
            "GID", str(item.sequence_numeric), [fmt_int(item.package_quantity), item.package_type_code]
        )
    ]
    if item.cargo_description:
        segs.append(Segment.of("FTX", "AAA", "", "", text_chunks(item.cargo_description, 512, 5)))
    if item.gross_mass is not None:
        segs.append(Segment.of("MEA", "AAE", "G", ["KGM", fmt_decimal(item.gross_mass)]))
    segs += [Segment.of("SGP", eid) for eid in item.equipment_ids]
    if item.undg_code:
        segs.append(Segment.of("DGS", "IMD", "", item.undg_code))
    if item.marks_numbers:
        segs.append(Segment.of("PCI", "24", text_chunks(item.marks_numbers, 35, 10)))
    if item.hs_code:
        segs.append(Segment.of("CST", "", item.hs_code))
    return segs


def consignment_segments(n: int, c: Consignment) -> list[Segment]:
    segs = [Segment.of("CNI", str(n), [c.bill_no, c.condition_code] if c.condition_code else c.bill_no)]
    if c.package_quantity is not None or c.package_type_code:
        segs.append(Segment.of("CNT", ["11", fmt_int(c.package_quantity), c.package_type_code]))
    if c.gross_mass is not None:
        segs.append(Segment.of("CNT", ["7", fmt_decimal(c.gross_mass), "KGM"]))
    if c.gross_volume is not None:
        segs.append(Segment.of("CNT", ["15", fmt_decimal(c.gross_volume), "MTQ"]))
    segs.append(Segment.of("RFF", ["BM", c.bill_no]))
    if c.value_amount is not None or c.value_currency:
        segs.append(Segment.of("MOA", ["44", fmt_decimal(c.value_amount), c.value_currency]))
    if c.loading_location_id:
        segs.append(Segment.of("LOC", "9", c.loading_location_id))
    if c.unloading_location_id:
        segs.append(Segment.of("LOC", "11", c.unloading_location_id))
    if c.goods_receipt_place_id or c.goods_receipt_place_name:
        segs.append(Segment.of("LOC", "88", [c.goods_receipt_place_id, "", "", c.goods_receipt_place_name]))
    if c.customs_status_code:
        segs.append(Segment.of("GIS", [c.customs_status_code, "CUS"]))
    if c.change_reason_code:
        segs.append(Segment.of("GIS", [c.change_reason_code, "AMD"]))
    if c.freight_payment_method_code:
        segs.append(Segment.of("CPI", "", c.freight_payment_method_code))
    for role, attr in PARTY_ROLES:
        party = getattr(c, attr)
        if party is not None:
            segs += party_segments(role, party)
    if c.consolidator_id:
        segs.append(Segment.of("NAD", "CS", c.consolidator_id))
    for item in c.items:
        segs += item_segments(item)
    if c.house_bill_no:
        segs.append(Segment.of("RFF", ["BH", c.house_bill_no]))
    return segs


def for_directory(segments: list[Segment], directory: str) -> list[Segment]:
    """Consignment indicators as the target directory spells them: D.03B and later have no GIS in
    CUSCAR, only GEI (qualifier 5 = consignment type information, the code and list unchanged)."""
    tags = load(directory, "CUSCAR").tags
    if "GIS" in tags or "GEI" not in tags:
        return segments
    return [Segment.of("GEI", "5", list(s.elements[0])) if s.tag == "GIS" else s for s in segments]


def to_segments(m: Manifest, bgm_code: str) -> list[Segment]:
    d = m.declaration
    segs = [bgm(bgm_code, m.head)]
    if m.head.send_time:
        segs.append(
            Segment.of("DTM", ["137", m.head.send_time, "ZZZ" if len(m.head.send_time) == 17 else "203"])
        )
    segs += top_refs(d)
    segs += header_nads(m.head, d)
    segs += remark(d)
    segs += transport_group(d)
    boxes: dict[str, TransportEquipment] = {}
    for c in d.consignments:
        for box in c.transport_equipment:
            boxes.setdefault(box.equipment_id, box)
    for box in boxes.values():
        segs.append(equipment_segment(box))
        segs += seal_segments(box.seal_ids, box.seal_agencies)
    for n, c in enumerate(d.consignments, 1):
        segs += consignment_segments(n, c)
    return segs


# --------------------------------------------------------------------------- where fields came from

SPELLING = {
    **HEADER_SPELLING,
    "declaration.consignments.N.bill_no": "RFF+BM in the CNI group",
    "declaration.consignments.N.consignee": "NAD+CN under the bill's RFF+BM",
    "declaration.consignments.N.consignor": "NAD+CZ under the bill's RFF+BM",
}
_CNT_NOTES = {"11": "package_quantity", "7": "gross_mass", "15": "gross_volume"}


def note(tree: GroupNode, m: Manifest, sources: Sources) -> None:
    """Which segment fed which field: header, each bill at its CNI group (bill number at its RFF+BM,
    parties at their NAD, goods at their GID), each container at its EQD group."""
    d = m.declaration
    note_header(tree, m.head, d, sources)
    eqds = {g.segments[0].get(1): g for g in tree.groups("EQD")}
    for cni, c in zip(tree.groups("CNI"), d.consignments, strict=False):
        sources.note(c, "", cni.segments[0])
        sources.note(c, "bill_no", cni.segments[0])
        for s in cni.segments[1:]:
            if s.tag == "CNT" and s.get(0) in _CNT_NOTES:
                sources.note(c, _CNT_NOTES[s.get(0)], s)
        bills = [r for r in cni.groups("RFF") if r.segments[0].get(0) == "BM"]
        for ref in cni.groups("RFF"):
            if ref.segments[0].get(0) in ("BH", "HB"):
                sources.note(c, "house_bill_no", ref.segments[0])
        if bills:
            ref = bills[0]
            sources.note(c, "bill_no", ref.segments[0])
            for party in ref.groups("NAD"):
                role = party.segments[0].get(0)
                if role in _ROLE_ATTR:
                    sources.note(c, _ROLE_ATTR[role], party.segments[0])
                    sources.note(getattr(c, _ROLE_ATTR[role]), "", party.segments[0])
                elif role == "CS":
                    sources.note(c, "consolidator_id", party.segments[0])
            for gid, item in zip(ref.groups("GID"), c.items, strict=False):
                sources.note(item, "", gid.segments[0])
        for box in c.transport_equipment:
            node = eqds.get(box.equipment_id)
            if node is not None:
                sources.note(box, "", node.segments[0])
                sources.note(box, "equipment_id", node.segments[0])
