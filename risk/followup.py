"""What happens after a check reports back: pure functions from (decision, result) to a follow-up.

- scan_result: 先期机检 — a clear scan releases directly, a suspicious one escalates to port inspection.
- lab_result: 先验放后检测 / 附条件提离 / held samples — a later failure after release raises a recall notice.
- quarantine_result: 即验即放 — no quarantine pest found releases on the spot.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from risk.errors import FollowUpError
from risk.model import Decision, Outcome


class FollowUpKind(StrEnum):
    RELEASE = "release"  # goods may go (or stay released); the case is closed
    ESCALATE = "escalate"  # a further check is required before release
    RECALL = "recall"  # goods already released must be recalled (召回) from the market
    DISPOSE = "dispose"  # goods still under control: return shipment or destruction (退运/销毁)
    TREAT = "treat"  # quarantine treatment (检疫处理) before any release


@dataclass(frozen=True, slots=True)
class FollowUp:
    kind: FollowUpKind
    declaration_id: str
    stage: int
    after: Outcome | None  # the outcome that now applies (e.g. port_inspection after a bad scan)
    reason: str
    ruleset_version: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "declaration_id": self.declaration_id,
            "stage": self.stage,
            "after": self.after.value if self.after else None,
            "reason": self.reason,
            "ruleset_version": self.ruleset_version,
        }


def _follow(decision: Decision, kind: FollowUpKind, after: Outcome | None, reason: str) -> FollowUp:
    return FollowUp(kind, decision.declaration_id, decision.stage, after, reason, decision.ruleset_version)


def scan_result(decision: Decision, clear: bool) -> FollowUp:
    if decision.outcome is not Outcome.MACHINE_SCAN_FIRST:
        raise FollowUpError(
            f"scan result given for a {decision.outcome.value} decision (needs machine_scan_first)"
        )
    if clear:
        return _follow(
            decision,
            FollowUpKind.RELEASE,
            Outcome.RELEASE_ON_ARRIVAL,
            "Machine scan clear: released directly after the scan (机检后直接放行).",
        )
    return _follow(
        decision,
        FollowUpKind.ESCALATE,
        Outcome.PORT_INSPECTION,
        "Machine scan image not clear: escalated to physical inspection at the port.",
    )


_LAB_OUTCOMES = (Outcome.RELEASE_FIRST_TEST_LATER, Outcome.CONDITIONAL_REMOVAL, Outcome.LAB_TEST_HOLD)


def lab_result(decision: Decision, passed: bool) -> FollowUp:
    if decision.outcome not in _LAB_OUTCOMES:
        allowed = ", ".join(o.value for o in _LAB_OUTCOMES)
        raise FollowUpError(
            f"lab result given for a {decision.outcome.value} decision (needs one of {allowed})"
        )
    if passed:
        return _follow(
            decision, FollowUpKind.RELEASE, None, "Laboratory result conforms: case closed, goods free."
        )
    if decision.outcome is Outcome.RELEASE_FIRST_TEST_LATER:
        return _follow(
            decision,
            FollowUpKind.RECALL,
            None,
            "Laboratory result failed after release (先验放后检测): recall notice — the consignee must "
            "recall the goods from the market and hold them for disposal under customs supervision.",
        )
    where = (
        "at the approved storage site" if decision.outcome is Outcome.CONDITIONAL_REMOVAL else "at the port"
    )
    return _follow(
        decision,
        FollowUpKind.DISPOSE,
        None,
        f"Laboratory result failed while the goods are held {where}: return shipment or destruction.",
    )


def quarantine_result(decision: Decision, pests_found: bool) -> FollowUp:
    if decision.outcome is not Outcome.RELEASE_ON_INSPECTION:
        raise FollowUpError(
            f"quarantine result given for a {decision.outcome.value} decision (needs release_on_inspection)"
        )
    if not pests_found:
        return _follow(
            decision,
            FollowUpKind.RELEASE,
            Outcome.CONFORMITY_ACCEPTED,
            "No quarantine pest or suspected pest found on site: released on inspection (即验即放).",
        )
    return _follow(
        decision,
        FollowUpKind.TREAT,
        Outcome.LAB_TEST_HOLD,
        "Quarantine pest or suspected pest found: held for identification and quarantine treatment.",
    )


class DirectReleaseCounter:
    """KPI for 先期机检: the share of machine-scanned consignments released directly after the scan."""

    def __init__(self) -> None:
        self.counts: Counter[FollowUpKind] = Counter()

    def record(self, follow_up: FollowUp) -> None:
        if follow_up.after not in (Outcome.RELEASE_ON_ARRIVAL, Outcome.PORT_INSPECTION):
            raise FollowUpError("only scan_result follow-ups count towards the direct-release ratio")
        self.counts[follow_up.kind] += 1

    @property
    def scanned(self) -> int:
        return sum(self.counts.values())

    @property
    def released_directly(self) -> int:
        return self.counts[FollowUpKind.RELEASE]

    @property
    def ratio(self) -> float:
        return self.released_directly / self.scanned if self.scanned else 0.0

    def to_dict(self) -> dict[str, float | int]:
        return {"scanned": self.scanned, "released_directly": self.released_directly, "ratio": self.ratio}
