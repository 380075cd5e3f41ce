"""CUSRES <-> DEC_DATA business receipt (BGM 962) and MT9999 manifest response (BGM 961).

Two shapes, chosen from the target directory's own structure table (`layout`):

* reference-shaped (D.95B, D.96A): references are the mandatory SG5 groups (RFF, DTM, MEA, EQD,
  MOA, TAX), header parties plain NAD segments. SG5 has no status or text segment, so a per-bill /
  per-container response code and text travel in the RFF composite itself:
  RFF+BM:<bill>:<code (1156)>:<text (4000)>:<text cont. (1060)>.
* document-shaped (D.96B and later): header parties are NAD groups (SG1), header references RFF
  groups (SG3: RFF, DTM, LOC only), and what the response is about is a DOC group (SG6: DOC, RFF,
  FTX, MEA, EQD, ...): the declaration with its totals, each bill and each container, the response
  code and text in the group's own FTX+AAO. D.03B and later spell indicators GEI, not GIS.

Both shapes are read whatever the directory (be liberal in what you read).
Field tables: docs/mappings.md, "CUSRES".
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from messages.edifact import GroupNode, Segment
from messages.edifact.directory import load
from messages.mapping.common import Issues, at, dtm, fmt_decimal, fmt_int, joined, text_chunks
from messages.models.manifest import ManifestHead
from messages.models.receipts import (
    ConsignmentResponse,
    DecResult,
    DecResultReceipt,
    EquipmentResponse,
    ManifestResponse,
)

if TYPE_CHECKING:
    from messages.mapping.provenance import Sources

# ---------------------------------------------------------------------------------------- shape


@cache
def layout(directory: str) -> tuple[bool, bool]:
    """(document-shaped, indicators as GEI) for ``directory``, read from its CUSRES table: a
    directory whose header RFF group has no MEA puts the responded-to documents in DOC groups."""
    definition = load(directory, "CUSRES")
    ref = next(e.group for e in definition.root.entries if e.group is not None and e.tag == "RFF")
    gei = "GIS" not in definition.root.positions and "GEI" in definition.root.positions
    return "MEA" not in ref.positions, gei


# DOC C002 document name codes (UNCL 1001) for what a response is about
DOC_DECLARATION = "929"  # goods declaration: the receipt does not say import or export
DOC_BILL = "705"  # bill of lading
# read as the declaration answered: goods declaration, for import or for export (any other DOC, e.g.
# a D.95B SG8 document required, is not what the receipt answers)
_DECLARATION_DOCS = (DOC_DECLARATION, "830")


def _docs(tree: GroupNode, codes: tuple[str, ...]) -> list[GroupNode]:
    return [g for g in tree.groups("DOC") if g.segments[0].get(0) in codes]


def _indicator(code: str, qualifier: str, gei: bool) -> Segment:
    # GEI+5 (consignment type information) is the CUSCAR spelling too; GIS+<code>:<list> before D.03B
    return Segment.of("GEI", "5", [code, qualifier]) if gei else Segment.of("GIS", [code, qualifier])


def _mea_totals(r: DecResult) -> list[Segment]:
    segs: list[Segment] = []
    if r.gross_wt is not None:
        segs.append(Segment.of("MEA", "WT", "AAB", ["KGM", fmt_decimal(r.gross_wt)]))
    if r.net_wt is not None:
        segs.append(Segment.of("MEA", "WT", "AAA", ["KGM", fmt_decimal(r.net_wt)]))
    if r.pack_no is not None:
        segs.append(Segment.of("MEA", "CT", "AAD", ["", fmt_int(r.pack_no)]))
    return segs


def _read_totals(r: DecResult, node: GroupNode, issues: Issues) -> None:
    where = at(node)
    for mea in node.segments[1:]:
        if mea.tag != "MEA":
            continue
        kind, value = mea.get(1), mea.get(2, 1)
        if kind == "AAB":
            r.gross_wt = issues.mass(value, mea.get(2), where, "gross weight")
        elif kind == "AAA":
            r.net_wt = issues.mass(value, mea.get(2), where, "net weight")
        elif kind == "AAD":
            r.pack_no = issues.integer(value, where, "number of packages")


# ------------------------------------------------------------------------------------- DEC_DATA

# attribute -> (tag, qualifier); RFF ones each open an SG5 group, the first one is RFF+ABT.
_DEC_DTM = {"d_date": "137", "notice_date": "182", "i_e_date": "132"}
_DEC_LOC = {"custom_master": "22", "decl_port": "41", "customs_field": "165"}
_DEC_RFF = {"entry_id": "ABT", "cus_ciq_no": "ABE", "bill_no": "BM", "voyage_no": "VON", "bonded_no": "AAS"}
_DEC_GIS = {"channel": "CHN", "traf_mode": "TRM"}


def dec_data_segments(model: DecResultReceipt, bgm_code: str, directory: str = "D95B") -> list[Segment]:
    r = model.result
    documents, gei = layout(directory)
    segs = [Segment.of("BGM", bgm_code, r.seq_no, "9")]
    parties: list[Segment] = []
    if r.agent_name or r.declare_no:
        parties.append(Segment.of("NAD", "DT", r.declare_no, "", text_chunks(r.agent_name, 35, 5)))
    if r.trade_co:
        parties.append(Segment.of("NAD", "IM", r.trade_co))
    locs = [Segment.of("LOC", q, getattr(r, a)) for a, q in _DEC_LOC.items() if getattr(r, a)]
    dtms = [dtm(q, getattr(r, a)) for a, q in _DEC_DTM.items() if getattr(r, a)]
    flags = [_indicator(getattr(r, a), q, gei) for a, q in _DEC_GIS.items() if getattr(r, a)]
    texts: list[Segment] = []
    if model.interface_version:
        texts.append(Segment.of("FTX", "AAI", "", model.interface_version))
    if r.note:
        texts.append(Segment.of("FTX", "AAO", "", "", text_chunks(r.note, 512, 5)))
    if model.result_info:
        texts.append(Segment.of("FTX", "ACB", "", "", text_chunks(model.result_info, 512, 5)))
    refs = [Segment.of("RFF", [q, getattr(r, a)]) for a, q in list(_DEC_RFF.items())[1:] if getattr(r, a)]
    if documents:
        # D.96B+: BGM DTM FTX LOC GIS/GEI, SG1 NAD, then the declaration answered as one SG6 group
        segs += dtms + texts + locs + flags + parties
        totals = _mea_totals(r)
        if r.entry_id or refs or totals:
            segs.append(Segment.of("DOC", DOC_DECLARATION, r.entry_id))
            segs += refs + totals
        return segs
    segs += parties + locs + dtms + flags + texts
    # SG5 is mandatory: RFF+ABT always opens it, the totals hang on it, each other RFF opens its own
    segs.append(Segment.of("RFF", ["ABT", r.entry_id]))
    segs += _mea_totals(r)
    return segs + refs


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
    refs = [g.segments[0] for g in tree.groups("RFF")]
    for doc in _docs(tree, _DECLARATION_DOCS):  # D.96B+: the declaration answered, with its refs and totals
        if not r.entry_id:
            r.entry_id = doc.segments[0].get(1)
        refs += doc.segments_of("RFF")
        _read_totals(r, doc, issues)
    for rff in refs:
        q = rff.get(0)
        for attr, code in _DEC_RFF.items():
            if q == code:
                setattr(r, attr, rff.get(0, 1))
    for ref in tree.groups("RFF"):
        _read_totals(r, ref, issues)
    if not r.channel:  # DEC_RESULT/CHANNEL is mandatory: refused here, not as a hub defect later
        indicator = "GEI+5+<code>:CHN from D.03B" if tree.segments_of("GEI") else "GIS+<code>:CHN"
        issues.add("segment 2 (BGM)", f"no customs channel (DEC_RESULT CHANNEL): add {indicator}")
    return model


# --------------------------------------------------------------------------------------- MT9999


def _ref(qualifier: str, value: str, code: str, text: str) -> Segment:
    return Segment.of("RFF", [qualifier, value, code, *(text_chunks(text, 35, 2) if text else [])])


def _response_text(code: str, text: str) -> list[Segment]:
    if not (code or text):
        return []
    return [Segment.of("FTX", "AAO", "", code, text_chunks(text, 512, 5) if text else "")]


def manifest_response_segments(
    model: ManifestResponse, bgm_code: str, directory: str = "D95B"
) -> list[Segment]:
    h = model.head
    documents, _ = layout(directory)
    segs = [Segment.of("BGM", bgm_code, h.message_id, h.function_code, h.message_type)]
    parties = [Segment.of("NAD", "MS", h.sender_id), Segment.of("NAD", "MR", h.receiver_id)]
    if not documents:
        segs += parties
    if h.send_time:
        segs.append(dtm("137", h.send_time))
    segs += _response_text(model.statement_code, model.statement_description)
    if documents:
        segs += parties
    segs.append(Segment.of("RFF", ["ACW", model.response_id]))
    if model.journey_id:
        segs.append(Segment.of("RFF", ["VON", model.journey_id]))
    if model.conveyance_id:
        segs.append(Segment.of("RFF", ["VM", model.conveyance_id]))
    if documents:
        # D.96B+: one SG6 group per bill (DOC+705) and per container (DOC+705 with its EQD)
        for c in model.consignments:
            segs.append(Segment.of("DOC", DOC_BILL, c.bill_no))
            if c.house_bill_no:
                segs.append(Segment.of("RFF", ["BH", c.house_bill_no]))
            segs += _response_text(c.code, c.text)
        for e in model.equipment:
            segs.append(Segment.of("DOC", DOC_BILL, e.bill_no))
            segs += _response_text(e.code, e.text)
            segs.append(Segment.of("EQD", "CN", e.equipment_id))
        return segs
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
    for value, what in (
        (head.message_id, "message id (BGM 1004)"),
        (head.function_code, "function (BGM 1225)"),
    ):
        if not value:  # mandatory in MT9999's Head: refused in the sender's terms
            issues.add("segment 2 (BGM)", f"no {what}: MT9999 Head needs it")
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
    for doc in _docs(tree, (DOC_BILL,)):  # D.96B+: one group per bill or container answered
        bill = doc.segments[0].get(1)
        ftx = doc.segment("FTX", "AAO")
        code, text = (ftx.get(2), joined(ftx, 3)) if ftx is not None else ("", "")
        eqd = doc.segment("EQD")
        if eqd is not None:
            model.equipment.append(EquipmentResponse(eqd.get(1), code, bill, text))
            continue
        house = next((s.get(0, 1) for s in doc.segments_of("RFF") if s.get(0) == "BH"), "")
        model.consignments.append(ConsignmentResponse(bill, code, house, text))
        if not code:
            issues.add(at(doc), "bill document (DOC) without a response code (FTX+AAO 4441)")
    return model


# --------------------------------------------------------------------------- where fields came from


def note(tree: GroupNode, model: object, sources: Sources) -> None:
    """Which segment fed which field, in both shapes (the readers above, the other way round)."""
    bgm = tree.segment("BGM")
    header = tree.segments + _header_nads(tree)
    if isinstance(model, DecResultReceipt):
        r = model.result
        sources.note(r, "seq_no", bgm)
        codes = {("LOC", q): a for a, q in _DEC_LOC.items()} | {("DTM", q): a for a, q in _DEC_DTM.items()}
        codes |= {("NAD", "DT"): "declare_no", ("NAD", "IM"): "trade_co"}
        for seg in header:
            attr = codes.get((seg.tag, seg.get(0)))
            if attr:
                sources.note(r, attr, seg)
        refs = [g.segments[0] for g in tree.groups("RFF")]
        for doc in _docs(tree, _DECLARATION_DOCS):
            sources.note(r, "entry_id", doc.segments[0])
            refs += doc.segments_of("RFF")
        by_code = {q: a for a, q in _DEC_RFF.items()}
        for rff in refs:
            if rff.get(0) in by_code:
                sources.note(r, by_code[rff.get(0)], rff)
        return
    if not isinstance(model, ManifestResponse):
        return
    sources.note(model.head, "message_id", bgm)
    bills = [g for g in tree.groups("RFF") if g.segments[0].get(0) == "BM"]
    boxes = [g for g in tree.groups("RFF") if g.segments[0].get(0) == "AAQ" and g.segment("EQD")]
    docs = _docs(tree, (DOC_BILL,))
    bills += [d for d in docs if d.segment("EQD") is None]
    boxes += [d for d in docs if d.segment("EQD") is not None]
    for node, c in zip(bills, model.consignments, strict=False):
        for attr in ("", "bill_no", "code", "text"):
            sources.note(c, attr, node.segments[0])
    for node, e in zip(boxes, model.equipment, strict=False):
        sources.note(e, "", node.segments[0])
        sources.note(e, "equipment_id", node.segment("EQD"))
