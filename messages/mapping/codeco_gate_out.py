"""CODECO gate-out report (BGM 36) <-> GateOutReport (the hub's own XML), one EQD group per container.

As the SMDG CODECO user guide writes it: NAD+MS the terminal, NAD+CF the container operator, and in
each container's EQD group (EQD+CN+<no>+<size-type>:102:5++<status>+<fullness>) the bill it leaves
under (RFF+BM), when it passed the gate (DTM+7, or DTM+203 as SMDG guides qualify it), the gate's
site (LOC+165) and the truck or train it left on (TDT+1 sub-group). Table: docs/mappings.md,
"CODECO gate-out <-> GateOutReport".
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from messages.edifact import GroupNode, Segment
from messages.mapping.common import Issues, at
from messages.models.gate import GateOut, GateOutReport
from messages.partners import Partner

if TYPE_CHECKING:
    from messages.mapping.provenance import Sources

# DTM 2379 without a zone: the port's local time, China Standard Time as the manifest family has it
CST = timezone(timedelta(hours=8), "CST")
GATE_DTM = ("7", "203")  # effective / execution date-time
_FORMATS = {"203": ("%Y%m%d%H%M", 12), "204": ("%Y%m%d%H%M%S", 14), "102": ("%Y%m%d", 8)}


def to_model(
    tree: GroupNode, sender: str, issues: Issues, partner: Partner, message_ref: str = ""
) -> GateOutReport:
    bgm_seg = tree.segment("BGM")
    report = GateOutReport(report_id=bgm_seg.get(1) if bgm_seg else "", sender_id="")
    if not report.report_id and message_ref:
        # terminals often send BGM+36++9: the interchange and UNH references name the report
        report.report_id = message_ref
        issues.warn(
            "segment 2 (BGM)", f"no document number (BGM 1004): {message_ref!r} (UNB 0020-UNH 0062) is used"
        )
    if not report.report_id:
        issues.add("segment 2 (BGM)", "no document number (BGM 1004): the hub deduplicates on it")
    for nad in (g.segments[0] for g in tree.groups("NAD")):
        if nad.get(0) == "MS":
            report.sender_id = nad.get(1)
        elif nad.get(0) == "CF":
            report.carrier_id = nad.get(1)
    report.sender_id = report.sender_id or sender
    # a site the message leaves out: the partner profile's terminal (defaults.unloading_location)
    default_site = partner.defaults.get("unloading_location", "")
    for eqd in tree.groups("EQD"):
        report.gate_outs.append(_gate_out(eqd, default_site, issues))
    return report


def note(tree: GroupNode, report: GateOutReport, sources: Sources) -> None:
    """Which segment fed which field: the report at BGM, each box at its EQD group, its bill, time and
    site at the segments read for them."""
    sources.note(report, "report_id", tree.segment("BGM"))
    for eqd, box in zip(tree.groups("EQD"), report.gate_outs, strict=False):
        sources.note(box, "", eqd.segments[0])
        sources.note(box, "container_id", eqd.segments[0])
        located = [seg for child in eqd.children if child.trigger == "LOC" for seg in child.segments]
        for s in [*eqd.segments[1:], *located]:
            q = s.get(0)
            if s.tag == "RFF" and q == "BM":
                sources.note(box, "bill_no", s)
            elif s.tag == "DTM" and q in GATE_DTM:
                sources.note(box, "gated_out_at", s)
            elif s.tag == "LOC" and q == "165":
                sources.note(box, "site_code", s)


def _gate_out(node: GroupNode, default_site: str, issues: Issues) -> GateOut:
    seg, where = node.segments[0], at(node)
    if seg.get(0) != "CN":
        issues.add(where, f"equipment {seg.get(0)!r} is not a container (EQD+CN): only containers gate out")
    box = GateOut(
        container_id=seg.get(1),
        bill_no="",
        gated_out_at=datetime.min,
        site_code="",
        size_type=seg.get(2),
        status_code=seg.get(4),
        fullness_code=seg.get(5),
    )
    moment: datetime | None = None
    dated = False
    # D.00B and later put the EQD group's LOC (with its DTM) in a sub-group: read both shapes
    located = [seg for child in node.children if child.trigger == "LOC" for seg in child.segments]
    for s in [*node.segments[1:], *located]:
        q = s.get(0)
        if s.tag == "RFF" and q == "BM":
            box.bill_no = s.get(0, 1)
        elif s.tag == "DTM" and q in GATE_DTM and not dated:
            dated, moment = True, _moment(s, where, issues)
        elif s.tag == "LOC" and q == "165":
            box.site_code = s.get(1)
    transport = node.group("TDT")
    if transport is not None:
        box.vehicle_id = transport.segments[0].get(7)
    box.site_code = box.site_code or default_site
    if not box.container_id:
        issues.add(where, "EQD without a container number")
    if not box.bill_no:
        issues.add(where, f"container {box.container_id}: no bill of lading (RFF+BM) in its EQD group")
    if not box.site_code:
        issues.add(where, f"container {box.container_id}: no gate site: add LOC+165 to its EQD group")
    if not dated:
        issues.add(where, f"container {box.container_id}: no gate-out time (DTM+7 or DTM+203)")
    if moment is not None:
        box.gated_out_at = moment
    return box


def _moment(seg: Segment, where: str, issues: Issues) -> datetime | None:
    value, fmt = seg.get(0, 1), seg.get(0, 2) or "203"
    pattern, digits = _FORMATS.get(fmt, ("", 0))
    try:
        if not pattern or len(value) != digits or not value.isdigit():  # strptime alone takes 1-digit months
            raise ValueError(fmt)
        return datetime.strptime(value, pattern).replace(tzinfo=CST)
    except ValueError:
        issues.add(where, f"gate-out time {value!r} is not a date/time in format {fmt} (use 203 or 204)")
        return None


def to_segments(report: GateOutReport, bgm_code: str) -> list[Segment]:
    segs = [Segment.of("BGM", bgm_code, report.report_id, "9"), Segment.of("NAD", "MS", report.sender_id)]
    if report.carrier_id:
        segs.append(Segment.of("NAD", "CF", [report.carrier_id, "160", "20"]))
    for box in report.gate_outs:
        size = [box.size_type, "102", "5"] if box.size_type else [""]
        segs.append(Segment.of("EQD", "CN", box.container_id, size, "", box.status_code, box.fullness_code))
        segs.append(Segment.of("RFF", ["BM", box.bill_no]))
        segs.append(Segment.of("DTM", _stamp(box.gated_out_at)))
        segs.append(Segment.of("LOC", "165", box.site_code))
        if box.vehicle_id:
            segs.append(Segment.of("TDT", "1", "", "3", "", "", "", "", box.vehicle_id))
    segs.append(Segment.of("CNT", ["16", str(len(report.gate_outs))]))
    return segs


def _stamp(moment: datetime) -> list[str]:
    """DTM+7 in China Standard Time; seconds (204) only when there are any, as SMDG writes 203."""
    local = moment.astimezone(CST)
    if local.second:
        return ["7", local.strftime("%Y%m%d%H%M%S"), "204"]
    return ["7", local.strftime("%Y%m%d%H%M"), "203"]


def prepared(report: GateOutReport) -> datetime | None:
    """The envelope date of a written report: its first gate-out (deterministic output)."""
    if not report.gate_outs:
        return None
    return report.gate_outs[0].gated_out_at.astimezone(CST).replace(tzinfo=None)
