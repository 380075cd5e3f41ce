"""CUSRES <-> DEC_DATA business receipt (BGM 962) and MT9999 manifest response (BGM 961).

D.95B CUSRES has no status or text segment inside its reference group (SG5 = RFF, DTM, MEA, EQD,
MOA, TAX), so a per-bill / per-container response code and text travel in the RFF composite
itself: RFF+BM:<bill>:<code (1156)>:<text (4000)>:<text cont. (1060)>.
Field tables: docs/mappings.md, "CUSRES".
"""

from __future__ import annotations

from messages.edifact import GroupNode, Segment
from messages.mapping.common import Issues, at, dtm, fmt_decimal, fmt_int, joined, text_chunks
from messages.models.manifest import ManifestHead
from messages.models.receipts import (
    ConsignmentResponse,
    DecResult,
    DecResultReceipt,
    EquipmentResponse,
    ManifestResponse,
)

# ------------------------------------------------------------------------------------- DEC_DATA

# attribute -> (tag, qualifier); RFF ones each open an SG5 group, the first one is RFF+ABT.
_DEC_DTM = {"d_date": "137", "notice_date": "182", "i_e_date": "132"}
_DEC_LOC = {"custom_master": "22", "decl_port": "41", "customs_field": "165"}
_DEC_RFF = {"entry_id": "ABT", "cus_ciq_no": "ABE", "bill_no": "BM", "voyage_no": "VON", "bonded_no": "AAS"}
_DEC_GIS = {"channel": "CHN", "traf_mode": "TRM"}


def dec_data_segments(model: DecResultReceipt, bgm_code: str) -> list[Segment]:
    r = model.result
    segs = [Segment.of("BGM", bgm_code, r.seq_no, "9")]
    if r.agent_name or r.declare_no:
        segs.append(Segment.of("NAD", "DT", r.declare_no, "", text_chunks(r.agent_name, 35, 5)))
    if r.trade_co:
        segs.append(Segment.of("NAD", "IM", r.trade_co))
    segs += [Segment.of("LOC", q, getattr(r, a)) for a, q in _DEC_LOC.items() if getattr(r, a)]
    segs += [dtm(q, getattr(r, a)) for a, q in _DEC_DTM.items() if getattr(r, a)]
    segs += [Segment.of("GIS", [getattr(r, a), q]) for a, q in _DEC_GIS.items() if getattr(r, a)]
    if model.interface_version:
        segs.append(Segment.of("FTX", "AAI", "", model.interface_version))
    if r.note:
        segs.append(Segment.of("FTX", "AAO", "", "", text_chunks(r.note, 512, 5)))
    if model.result_info:
        segs.append(Segment.of("FTX", "ACB", "", "", text_chunks(model.result_info, 512, 5)))
    for n, (attr, q) in enumerate(_DEC_RFF.items()):
        value = getattr(r, attr)
        if n and not value:
            continue
        segs.append(Segment.of("RFF", [q, value]))
        if n == 0:  # totals hang on the declaration reference
            if r.gross_wt is not None:
                segs.append(Segment.of("MEA", "WT", "AAB", ["KGM", fmt_decimal(r.gross_wt)]))
            if r.net_wt is not None:
                segs.append(Segment.of("MEA", "WT", "AAA", ["KGM", fmt_decimal(r.net_wt)]))
            if r.pack_no is not None:
                segs.append(Segment.of("MEA", "CT", "AAD", ["", fmt_int(r.pack_no)]))
    return segs


def _header_nads(tree: GroupNode) -> list[Segment]:
    return [g.segments[0] for g in tree.groups("NAD")]


def _party(tree: GroupNode, qualifier: str) -> str:
    return next((s.get(1) for s in tree.segments_of("NAD") + _header_nads(tree) if s.get(0) == qualifier), "")


def to_dec_data(tree: GroupNode, issues: Issues) -> DecResultReceipt:
    r = DecResult()
    model = DecResultReceipt(result=r)
    bgm = tree.segment("BGM")
    r.seq_no = bgm.get(1) if bgm else ""
    # D.95B/D.96A: header NAD segments; D.96B and later: NAD groups (SG1) - read both
    for seg in tree.segments + _header_nads(tree):
        tag, q = seg.tag, seg.get(0)
        if tag == "NAD" and q == "DT":
            r.declare_no, r.agent_name = seg.get(1), joined(seg, 3)
        elif tag == "NAD" and q == "IM":
            r.trade_co = seg.get(1)
        elif tag == "LOC":
            for attr, code in _DEC_LOC.items():
                if q == code:
                    setattr(r, attr, seg.get(1))
        elif tag == "DTM":
            for attr, code in _DEC_DTM.items():
                if q == code:
                    setattr(r, attr, seg.get(0, 1))
        elif tag in ("GIS", "GEI"):  # D.03B and later: GEI+<qualifier>+<code>:<list>
            k = 0 if tag == "GIS" else 1
            for attr, code in _DEC_GIS.items():
                if seg.get(k, 1) == code:
                    setattr(r, attr, seg.get(k))
        elif tag == "FTX":
            if q == "AAI":
                model.interface_version = seg.get(2)
            elif q == "AAO":
                r.note = joined(seg, 3)
            elif q == "ACB":
                model.result_info = joined(seg, 3)
    for ref in tree.groups("RFF"):
        q = ref.segments[0].get(0)
        for attr, code in _DEC_RFF.items():
            if q == code:
                setattr(r, attr, ref.segments[0].get(0, 1))
        where = at(ref)
        for mea in ref.segments[1:]:
            if mea.tag != "MEA":
                continue
            kind, value = mea.get(1), mea.get(2, 1)
            if kind == "AAB":
                r.gross_wt = issues.decimal(value, where, "gross weight")
            elif kind == "AAA":
                r.net_wt = issues.decimal(value, where, "net weight")
            elif kind == "AAD":
                r.pack_no = issues.integer(value, where, "number of packages")
    return model


# --------------------------------------------------------------------------------------- MT9999


def _ref(qualifier: str, value: str, code: str, text: str) -> Segment:
    return Segment.of("RFF", [qualifier, value, code, *(text_chunks(text, 35, 2) if text else [])])


def manifest_response_segments(model: ManifestResponse, bgm_code: str) -> list[Segment]:
    h = model.head
    segs = [
        Segment.of("BGM", bgm_code, h.message_id, h.function_code, h.message_type),
        Segment.of("NAD", "MS", h.sender_id),
        Segment.of("NAD", "MR", h.receiver_id),
    ]
    if h.send_time:
        segs.append(dtm("137", h.send_time))
    if model.statement_code or model.statement_description:
        segs.append(
            Segment.of(
                "FTX", "AAO", "", model.statement_code, text_chunks(model.statement_description, 512, 5)
            )
        )
    segs.append(Segment.of("RFF", ["ACW", model.response_id]))
    if model.journey_id:
        segs.append(Segment.of("RFF", ["VON", model.journey_id]))
    if model.conveyance_id:
        segs.append(Segment.of("RFF", ["VM", model.conveyance_id]))
    for c in model.consignments:
        segs.append(_ref("BM", c.bill_no, c.code, c.text))
        if c.house_bill_no:
            segs.append(Segment.of("RFF", ["BH", c.house_bill_no]))
    for e in model.equipment:
        segs += [_ref("AAQ", e.bill_no, e.code, e.text), Segment.of("EQD", "CN", e.equipment_id)]
    return segs


def to_manifest_response(tree: GroupNode, sender: str, receiver: str, issues: Issues) -> ManifestResponse:
    bgm = tree.segment("BGM")
    head = ManifestHead(
        message_id=bgm.get(1) if bgm else "",
        function_code=bgm.get(2) if bgm else "",
        message_type=(bgm.get(3) if bgm else "") or "MT9999",
        sender_id=_party(tree, "MS") or sender,
        receiver_id=_party(tree, "MR") or receiver,
        send_time=tree.value("DTM", 0, 1, qualifier="137"),
    )
    model = ManifestResponse(head=head)
    ftx = tree.segment("FTX", "AAO")
    if ftx is not None:
        model.statement_code, model.statement_description = ftx.get(2), joined(ftx, 3)
    last: ConsignmentResponse | None = None
    for ref in tree.groups("RFF"):
        rff = ref.segments[0]
        q, value = rff.get(0), rff.get(0, 1)
        code, text = rff.get(0, 2), rff.get(0, 3) + rff.get(0, 4)
        if q == "ACW":
            model.response_id = value
        elif q == "VON":
            model.journey_id = value
        elif q == "VM":
            model.conveyance_id = value
        elif q == "BM":
            last = ConsignmentResponse(value, code, text=text)
            model.consignments.append(last)
            if not code:
                issues.add(at(ref), "bill reference without a response code (RFF 1156)")
        elif q == "BH" and last is not None:
            last.house_bill_no = value
        elif q == "AAQ":
            eqd = ref.segment("EQD")
            if eqd is None:
                issues.add(at(ref), "container reference (RFF+AAQ) without an EQD container number")
                continue
            model.equipment.append(EquipmentResponse(eqd.get(1), code, value, text))
    return model
