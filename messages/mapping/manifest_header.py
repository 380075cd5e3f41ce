"""Header pieces shared by the manifest mappings (CUSCAR, CODECO, COARRI <-> MTxxxx).

Head (message id, function, sender/receiver, send time), the declaring office, the vessel and
voyage (TDT group with its LOC/DTM), header parties and the free-text remark. Field-by-field table:
docs/mappings.md, "Manifest header".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from messages.edifact import GroupNode, Segment
from messages.mapping.common import dtm, dtm_text, joined, text_chunks
from messages.models.manifest import BorderTransportMeans, Location, ManifestDeclaration, ManifestHead

if TYPE_CHECKING:
    from messages.mapping.provenance import Sources

# DTM qualifiers inside the TDT group -> (object, attribute)
_CONVEYANCE_DTM = {
    "132": "arrival_date_time",
    "133": "departure_date_time",
    "178": "actual_date_time",
    "186": "completed_date_time",
}
_LOADING_DTM, _UNLOADING_DTM, _SEND_DTM = "136", "232", "137"


def bgm(code: str, head: ManifestHead) -> Segment:
    return Segment.of("BGM", code, head.message_id, head.function_code)


def head_from(
    bgm_seg: Segment | None, message_type: str, send_time: str, sender: str, receiver: str
) -> ManifestHead:
    message_id = bgm_seg.get(1) if bgm_seg else ""
    function = bgm_seg.get(2) if bgm_seg else ""
    return ManifestHead(message_id, function, message_type, sender, receiver, send_time, "1.0")


def header_nads(head: ManifestHead, decl: ManifestDeclaration) -> list[Segment]:
    out = [Segment.of("NAD", "MS", head.sender_id, "", text_chunks(decl.representative_person_name, 35, 5))]
    out.append(Segment.of("NAD", "MR", head.receiver_id))
    if decl.carrier_id:
        out.append(Segment.of("NAD", "CA", [decl.carrier_id, "160", "ZZZ"]))
    if decl.agent_id:
        out.append(Segment.of("NAD", "AG", decl.agent_id))
    if decl.tally_party_id:
        out.append(Segment.of("NAD", "TL", decl.tally_party_id))
    return out


def apply_header_nads(nads: list[Segment], decl: ManifestDeclaration) -> tuple[str, str]:
    """Fill declaration parties; return (sender id, receiver id) found in NAD+MS / NAD+MR."""
    sender = receiver = ""
    for nad in nads:
        q = nad.get(0)
        if q == "MS":
            sender = nad.get(1)
            decl.representative_person_name = joined(nad, 3)
        elif q == "MR":
            receiver = nad.get(1)
        elif q == "CA":
            decl.carrier_id = nad.get(1)
        elif q == "AG":
            decl.agent_id = nad.get(1)
        elif q == "TL":
            decl.tally_party_id = nad.get(1)
    return sender, receiver


def top_refs(decl: ManifestDeclaration) -> list[Segment]:
    return [Segment.of("RFF", ["ABT", decl.id])] if decl.id else []


def apply_top_refs(refs: list[Segment], decl: ManifestDeclaration) -> None:
    for rff in refs:
        if rff.get(0) == "ABT":
            decl.id = rff.get(0, 1)


def remark(decl: ManifestDeclaration) -> list[Segment]:
    if not decl.additional_information:
        return []
    return [Segment.of("FTX", "AAI", "", "", text_chunks(decl.additional_information, 512, 5))]


def apply_remark(ftxs: list[Segment], decl: ManifestDeclaration) -> None:
    for ftx in ftxs:
        if ftx.get(0) == "AAI":
            decl.additional_information = joined(ftx, 3)


def transport_group(
    decl: ManifestDeclaration, head: ManifestHead | None = None, *, always: bool = False
) -> list[Segment]:
    """TDT group: vessel + voyage, office, locations and dates (``head`` given: DTM+137 here too)."""
    c = decl.conveyance
    segs: list[Segment] = []
    if c is not None:
        vessel_id, agency = c.id, "ZZZ"
        if vessel_id.startswith("UN") and vessel_id[2:].isdigit():
            vessel_id, agency = vessel_id[2:], "146"
        ident = [vessel_id, agency if vessel_id else "", "", c.name] if (c.id or c.name) else [""]
        segs.append(Segment.of("TDT", "20", c.journey_id, c.type_code, "", "", "", "", ident))
    elif always or decl.declaration_office_id or decl.loading_location or decl.unloading_location:
        segs.append(Segment.of("TDT", "ZZZ"))  # no vessel: the group still carries office/locations
    else:
        return []
    if decl.declaration_office_id:
        segs.append(Segment.of("LOC", "22", decl.declaration_office_id))
    if decl.loading_location is not None:
        segs.append(Segment.of("LOC", "9", decl.loading_location.id))
    if decl.unloading_location is not None:
        segs.append(Segment.of("LOC", "11", decl.unloading_location.id))
    if c is not None and c.first_arrival_location_id:
        segs.append(Segment.of("LOC", "76", c.first_arrival_location_id))
    if c is not None and c.loading_location_id:
        segs.append(Segment.of("LOC", "5", c.loading_location_id))
    if head is not None and head.send_time:
        segs.append(dtm(_SEND_DTM, head.send_time))
    if c is not None:
        for qualifier, attr in _CONVEYANCE_DTM.items():
            value = getattr(c, attr)
            if value:
                segs.append(dtm(qualifier, value))
    if decl.loading_location is not None and decl.loading_location.date_time:
        segs.append(dtm(_LOADING_DTM, decl.loading_location.date_time))
    if decl.unloading_location is not None and decl.unloading_location.date_time:
        segs.append(dtm(_UNLOADING_DTM, decl.unloading_location.date_time))
    return segs


def apply_transport_group(node: GroupNode | None, decl: ManifestDeclaration) -> str:
    """Fill conveyance, office and locations from a TDT group; return the DTM+137 value found."""
    if node is None:
        return ""
    tdt = node.segments[0]
    conveyance: BorderTransportMeans | None = None
    if tdt.get(0) != "ZZZ":
        vessel_id = tdt.get(7)
        imo = tdt.get(7, 1) == "146" or (tdt.get(7, 2) == "11" and len(vessel_id) == 7)
        if imo and vessel_id.isdigit():  # 146 = IMO number list; agency 11 = Lloyd's Register
            # an IMO number (code list 146) is the manifest's UN<IMO>; a call sign some terminals
            # send under 146 stays as it is (before it came out as 'UN' + call sign)
            vessel_id = "UN" + vessel_id
        conveyance = BorderTransportMeans(
            journey_id=tdt.get(1), type_code=tdt.get(2), id=vessel_id, name=tdt.get(7, 3)
        )
    send_time = ""
    dates: dict[str, str] = {}
    # D.00B and later put each LOC (with its DTMs) in a sub-group of the TDT group: read both shapes
    flat = _flat(node)
    for seg in flat:
        q = seg.get(0)
        if seg.tag == "LOC":
            value = seg.get(1)
            if q == "22":
                decl.declaration_office_id = value
            elif q == "9":
                decl.loading_location = Location(value)
            elif q == "11":
                decl.unloading_location = Location(value)
            elif q == "76" and conveyance is not None:
                conveyance.first_arrival_location_id = value
            elif q == "5" and conveyance is not None:
                conveyance.loading_location_id = value
        elif seg.tag == "DTM":
            value = dtm_text(seg)
            # 203 (CCYYMMDDHHMM) -> the manifest's yyyyMMddHHmmss
            dates[q] = value + "00" if len(value) == 12 and value.isdigit() else value
    send_time = dates.get(_SEND_DTM, "")
    if conveyance is not None:
        for qualifier, attr in _CONVEYANCE_DTM.items():
            if qualifier in dates:
                setattr(conveyance, attr, dates[qualifier])
    if decl.loading_location is not None:
        decl.loading_location.date_time = dates.get(_LOADING_DTM, "")
    if decl.unloading_location is not None:
        decl.unloading_location.date_time = dates.get(_UNLOADING_DTM, "")
    decl.conveyance = conveyance
    return send_time


# --------------------------------------------------------------------------- where fields came from

# DTM qualifier -> head / conveyance attribute, as read above
_DTM_NOTES = {_SEND_DTM: "send_time", **_CONVEYANCE_DTM}
_NAD_NOTES = {
    "MS": ("head", "sender_id"),
    "MR": ("head", "receiver_id"),
    "CA": ("decl", "carrier_id"),
    "AG": ("decl", "agent_id"),
    "TL": ("decl", "tally_party_id"),
}
# how a sender adds a header fact the message leaves out (field path -> EDIFACT)
SPELLING = {
    "head.send_time": "DTM+137",
    "head.sender_id": "NAD+MS",
    "declaration.declaration_office_id": "LOC+22 in the TDT group",
    "declaration.unloading_location": "LOC+11 in the TDT group",
    "declaration.unloading_location.id": "LOC+11 in the TDT group",
    "declaration.loading_location.id": "LOC+9 in the TDT group",
    "declaration.carrier_id": "NAD+CA",
    "declaration.tally_party_id": "NAD+TL",
    "declaration.conveyance": "TDT+20",
}


def note_header(tree: GroupNode, head: ManifestHead, decl: ManifestDeclaration, sources: Sources) -> None:
    """Which header segment fed which header field (the readers above, in the other direction)."""
    sources.note(head, "", tree.segment("BGM"))
    sources.note(head, "message_id", tree.segment("BGM"))
    sources.note(head, "function_code", tree.segment("BGM"))
    for seg in tree.segments + [g.segments[0] for g in tree.children if g.trigger in ("NAD", "RFF", "FTX")]:
        q = seg.get(0)
        if seg.tag == "NAD" and q in _NAD_NOTES:
            owner, attr = _NAD_NOTES[q]
            sources.note(head if owner == "head" else decl, attr, seg)
            if q == "MS":
                sources.note(decl, "representative_person_name", seg)
        elif seg.tag == "RFF" and q == "ABT":
            sources.note(decl, "id", seg)
        elif seg.tag == "FTX" and q == "AAI":
            sources.note(decl, "additional_information", seg)
        elif seg.tag == "DTM" and q == _SEND_DTM:
            sources.note(head, "send_time", seg)
    node = tree.group("TDT")
    if node is None:
        return
    c = decl.conveyance
    if c is not None:
        sources.note(decl, "conveyance", node.segments[0])
        for attr in ("", "journey_id", "type_code", "id", "name"):
            sources.note(c, attr, node.segments[0])
    flat = _flat(node)
    for seg in flat:
        q = seg.get(0)
        if seg.tag == "LOC":
            if q == "22":
                sources.note(decl, "declaration_office_id", seg)
            elif q in ("9", "11"):
                place = decl.loading_location if q == "9" else decl.unloading_location
                sources.note(decl, "loading_location" if q == "9" else "unloading_location", seg)
                if place is not None:
                    sources.note(place, "", seg)
                    sources.note(place, "id", seg)
            elif c is not None and q in ("76", "5"):
                sources.note(c, "first_arrival_location_id" if q == "76" else "loading_location_id", seg)
        elif seg.tag == "DTM" and q in _DTM_NOTES:
            owner = head if q == _SEND_DTM else c
            if owner is not None:
                sources.note(owner, _DTM_NOTES[q], seg)
        elif seg.tag == "DTM" and q in (_LOADING_DTM, _UNLOADING_DTM):
            place = decl.loading_location if q == _LOADING_DTM else decl.unloading_location
            if place is not None:
                sources.note(place, "date_time", seg)


def _flat(node: GroupNode) -> list[Segment]:
    """A TDT group's segments after the TDT; D.00B and later put each LOC (with its DTMs) in a
    sub-group, read here in the same list."""
    flat = node.segments[1:]
    for child in node.children:
        flat = [*flat, *child.segments]
    return flat
