"""Stage-2 holds (合格入市): outcomes of the complete declaration's screening that keep it from being
cleared until customs reports the result.

- lab_test_hold (sampled, goods held until the laboratory result): an InspectionNotice, instruction
  SAMPLING at the port, to the broker, the yard (the boxes must be made available) and customs;
  customs answers with the same notice, Outcome PASSED (conforms) or ANOMALY (failed).
- release_on_inspection (即验即放, on-site quarantine inspection): the same, instruction MANUAL.
- documents_required: no physical check, so no inspection notice: a DocumentsRequiredNotice (JSON,
  like HMRC's DMSDOC "documents required") to the broker and customs; customs answers with a DEC_DATA
  receipt: CHANNEL G/J (已审结: examined with its documents) lifts the hold, Sp1 (要求补充申报通知:
  supplementary documents required) keeps it held.
The hold is recorded in the declaration's `inspection` (with `stage` 2); while it is open, DEC_DATA R
(已结关) for that declaration does not clear it."""

from __future__ import annotations

from typing import Any

from hub.db.clearance_tables import ClrDeclaration
from messages.models.notices import InspectionInstruction, InspectionLocation

# stage-2 outcome -> (instruction, location) of the inspection notice; None: documentary check
STAGE2_HOLDS: dict[str, tuple[InspectionInstruction, InspectionLocation] | None] = {
    "lab_test_hold": (InspectionInstruction.SAMPLING, InspectionLocation.PORT),
    "release_on_inspection": (InspectionInstruction.MANUAL, InspectionLocation.PORT),
    "documents_required": None,
}
DOCS_CHECKED = {"G", "J"}  # 已审结 / 通关无纸化审结: examined together with the documents
DOCS_MISSING = {"Sp1"}  # 要求补充申报通知: supplementary documents required
DOCUMENTS_NOTICE = "DocumentsRequiredNotice"
WHY = {
    "lab_test_hold": "goods held until the laboratory result",
    "release_on_inspection": "released only once the on-site inspection finds nothing",
    "documents_required": "customs must check the required documents",
}


def hold_of(row: ClrDeclaration | None) -> dict[str, Any] | None:
    """The stage-2 hold recorded on a complete declaration (None: no hold)."""
    if row is None or not row.inspection or row.inspection.get("stage") != 2:
        return None
    return row.inspection


def hold_open(row: ClrDeclaration | None) -> bool:
    hold = hold_of(row)
    return hold is not None and hold.get("result") != "PASSED"


def documents_hold_open(row: ClrDeclaration | None) -> bool:
    hold = hold_of(row)
    return hold is not None and hold.get("hold") == "documents_required" and hold.get("result") != "PASSED"


def hold_view(row: ClrDeclaration) -> dict[str, Any] | None:
    """What GET /api/v1/declarations/{id} shows as `hold`."""
    hold = hold_of(row)
    if hold is None:
        return None
    return {
        "kind": hold.get("hold"),
        "open": hold.get("result") != "PASSED",
        "result": hold.get("result"),
        "notice_id": hold.get("notice_id"),
        "why": WHY.get(str(hold.get("hold")), ""),
    }
