"""The hub's own notices: inspection notice (查验通知) and release notice (放行通知).

Pushed to two subscribers (the enterprise/broker and the yard operator, seed requirement 1.7), so
they carry everything both need: bill, declarations, containers, where and what to check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class InspectionLocation(StrEnum):
    PORT = "PORT"  # 口岸查验
    DESTINATION = "DESTINATION"  # 目的地查验 (two-stage admission)
    COMBINED = "COMBINED"  # 口岸/目的地合并查验 (PortDestMergeCheckApply)


class InspectionInstruction(StrEnum):
    """What the site must do (instruction) ..."""

    MACHINE = "MACHINE"  # 机检 (H986 scan)
    MANUAL = "MANUAL"  # 人工查验 (open the box)
    MACHINE_THEN_MANUAL = "MACHINE_THEN_MANUAL"
    SAMPLING = "SAMPLING"  # 取样送检
    QUARANTINE = "QUARANTINE"  # 检疫处理


class InspectionOutcome(StrEnum):
    """... and, once done, what came of it (outcome)."""

    PENDING = "PENDING"
    PASSED = "PASSED"  # 查验正常
    ANOMALY = "ANOMALY"  # 查验异常
    SAMPLE_PENDING = "SAMPLE_PENDING"  # released before lab result (release-before-result)


class ReleaseType(StrEnum):
    NORMAL = "NORMAL"  # 放行
    GUARANTEE = "GUARANTEE"  # 担保放行
    CONDITIONAL = "CONDITIONAL"  # 附条件提离 (two-stage admission)
    PAPERLESS = "PAPERLESS"  # 无纸放行
    BILL = "BILL"  # 提运单放行 (manifest MT9999 code 11)


@dataclass(slots=True)
class InspectionCheck:
    code: str  # e.g. QTY, HS, ORIGIN, IPR, SEAL, QUARANTINE
    description: str = ""


@dataclass(slots=True)
class InspectionNotice:
    notice_id: str
    bill_no: str
    issued_at: datetime  # timezone-aware
    location: InspectionLocation
    instruction: InspectionInstruction
    site_code: str = ""  # port or destination supervised site / customs code
    outcome: InspectionOutcome = InspectionOutcome.PENDING
    declaration_ids: list[str] = field(default_factory=list)  # EntryId / SeqNo
    container_ids: list[str] = field(default_factory=list)
    checks: list[InspectionCheck] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)  # why selected (risk rule ids, random sampling)


@dataclass(slots=True)
class ReleaseNotice:
    notice_id: str
    bill_no: str
    released_at: datetime  # timezone-aware
    release_type: ReleaseType = ReleaseType.NORMAL
    entry_id: str = ""
    container_ids: list[str] = field(default_factory=list)
    note: str = ""
