"""swhub notices XML (urn:swhub:notice:1) <-> InspectionNotice / ReleaseNotice / GateOutReport."""

from __future__ import annotations

from lxml import etree

from messages.models.gate import GateOut, GateOutReport
from messages.models.notices import (
    InspectionCheck,
    InspectionInstruction,
    InspectionLocation,
    InspectionNotice,
    InspectionOutcome,
    ReleaseNotice,
    ReleaseType,
)
from messages.xml.binding import Binding, Child, Group, Leaf, LeafList, decode_into, encode_into
from messages.xml.schemas import NOTICE_NS

CHECK = Binding(InspectionCheck, (Leaf("Code", "code", required=True), Leaf("Description", "description")))

INSPECTION = Binding(
    InspectionNotice,
    (
        Leaf("NoticeId", "notice_id", required=True),
        Leaf("IssuedAt", "issued_at", "dt", required=True),
        Leaf("BillNo", "bill_no", required=True),
        Group("Declarations", (LeafList("DeclarationId", "declaration_ids"),)),
        Group("Containers", (LeafList("ContainerId", "container_ids"),)),
        Group(
            "Location",
            (
                Leaf("Kind", "location", required=True),
                Leaf("SiteCode", "site_code"),
            ),
            required=True,
        ),
        Leaf("Instruction", "instruction", required=True),
        Leaf("Outcome", "outcome", required=True),
        Child("Check", "checks", CHECK, wrapper="Checks"),
        Group("Reasons", (LeafList("Reason", "reasons"),)),
    ),
)

RELEASE = Binding(
    ReleaseNotice,
    (
        Leaf("NoticeId", "notice_id", required=True),
        Leaf("ReleasedAt", "released_at", "dt", required=True),
        Leaf("BillNo", "bill_no", required=True),
        Leaf("EntryId", "entry_id"),
        Leaf("ReleaseType", "release_type", required=True),
        Group("Containers", (LeafList("ContainerId", "container_ids"),)),
        Leaf("Note", "note"),
    ),
)


GATE_OUT = Binding(
    GateOut,
    (
        Leaf("ContainerId", "container_id", required=True),
        Leaf("BillNo", "bill_no", required=True),
        Leaf("GatedOutAt", "gated_out_at", "dt", required=True),
        Leaf("SiteCode", "site_code", required=True),
        Leaf("SizeType", "size_type"),
        Leaf("StatusCode", "status_code"),
        Leaf("FullnessCode", "fullness_code"),
        Leaf("VehicleId", "vehicle_id"),
    ),
)

GATE_OUT_REPORT = Binding(
    GateOutReport,
    (
        Leaf("ReportId", "report_id", required=True),
        Leaf("SenderId", "sender_id", required=True),
        Leaf("CarrierId", "carrier_id"),
        Child("GateOut", "gate_outs", GATE_OUT, wrapper="GateOuts", required=True),
    ),
)


def decode_inspection(root: etree._Element) -> InspectionNotice:
    notice: InspectionNotice = decode_into(root, INSPECTION)
    # Schema enumerations guarantee these values exist in the enums.
    notice.location = InspectionLocation(notice.location)
    notice.instruction = InspectionInstruction(notice.instruction)
    notice.outcome = InspectionOutcome(notice.outcome)
    return notice


def decode_release(root: etree._Element) -> ReleaseNotice:
    notice: ReleaseNotice = decode_into(root, RELEASE)
    notice.release_type = ReleaseType(notice.release_type)
    return notice


def _build(name: str, model: object, binding: Binding) -> etree._Element:
    root = etree.Element(f"{{{NOTICE_NS}}}{name}", nsmap={None: NOTICE_NS})
    encode_into(root, model, binding, NOTICE_NS)
    return root


def build_inspection(model: InspectionNotice) -> etree._Element:
    return _build("InspectionNotice", model, INSPECTION)


def build_release(model: ReleaseNotice) -> etree._Element:
    return _build("ReleaseNotice", model, RELEASE)


def decode_gate_out(root: etree._Element) -> GateOutReport:
    report: GateOutReport = decode_into(root, GATE_OUT_REPORT)
    return report


def build_gate_out(model: GateOutReport) -> etree._Element:
    return _build("GateOutReport", model, GATE_OUT_REPORT)
