"""Outcomes, lanes and the decision record produced by screening.

Two stages (两段准入): stage 1 "准许入境" decides at the port what happens to the consignment on arrival;
stage 2 "合格入市" decides on the complete declaration whether the goods may enter the market.
Each outcome has a strictness rank inside its stage: when several rules hit, the strictest wins.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Any


class Stage(IntEnum):
    ADMISSION = 1  # 准许入境 (security admission, at the port)
    CONFORMITY = 2  # 合格入市 (conformity, before market entry)


class CreditClass(StrEnum):
    """Customs enterprise credit class (海关企业信用等级); values match the hub's party table."""

    AEO = "aeo"  # advanced-certified enterprise (高级认证企业)
    CERTIFIED = "certified"  # general-certified enterprise (一般认证企业)
    GENERAL = "general"  # 一般信用企业
    DISCREDITED = "discredited"  # 失信企业


class Outcome(StrEnum):
    # stage 1, least to most strict
    RELEASE_ON_ARRIVAL = "release_on_arrival"
    MACHINE_SCAN_FIRST = "machine_scan_first"  # 先期机检: clear scan -> released directly
    DESTINATION_INSPECTION = "destination_inspection"
    CONDITIONAL_REMOVAL = "conditional_removal"  # 附条件提离: to an approved site pending lab results
    PORT_INSPECTION = "port_inspection"
    REFUSE_ENTRY = "refuse_entry"
    # stage 2, least to most strict
    GREEN_CHANNEL = "green_channel"  # JP/KR AEO mutual-recognition fresh produce
    CONFORMITY_ACCEPTED = "conformity_accepted"
    RELEASE_FIRST_TEST_LATER = "release_first_test_later"  # 先验放后检测 (bulk resource commodities)
    RELEASE_ON_INSPECTION = "release_on_inspection"  # 即验即放 (fresh fruit, no pests found)
    DOCUMENTS_REQUIRED = "documents_required"
    LAB_TEST_HOLD = "lab_test_hold"  # sampled, goods held until the lab result


class Lane(StrEnum):
    """ASYCUDA-style selectivity lanes (see docs/risk.md for the mapping)."""

    GREEN = "green"  # no check before release
    YELLOW = "yellow"  # non-intrusive or documentary check before release
    BLUE = "blue"  # released before the check completes; checked / tested afterwards
    RED = "red"  # physical examination or lab result before release, or refusal


STAGE_OUTCOMES: dict[int, tuple[Outcome, ...]] = {
    1: (
        Outcome.RELEASE_ON_ARRIVAL,
        Outcome.MACHINE_SCAN_FIRST,
        Outcome.DESTINATION_INSPECTION,
        Outcome.CONDITIONAL_REMOVAL,
        Outcome.PORT_INSPECTION,
        Outcome.REFUSE_ENTRY,
    ),
    2: (
        Outcome.GREEN_CHANNEL,
        Outcome.CONFORMITY_ACCEPTED,
        Outcome.RELEASE_FIRST_TEST_LATER,
        Outcome.RELEASE_ON_INSPECTION,
        Outcome.DOCUMENTS_REQUIRED,
        Outcome.LAB_TEST_HOLD,
    ),
}

# Strictness inside a stage: the index in STAGE_OUTCOMES.
RANK: dict[Outcome, int] = {o: i for outcomes in STAGE_OUTCOMES.values() for i, o in enumerate(outcomes)}
OUTCOME_STAGE: dict[Outcome, int] = {o: s for s, outcomes in STAGE_OUTCOMES.items() for o in outcomes}

# The outcome when no rule hits.
DEFAULT_OUTCOME: dict[int, Outcome] = {1: Outcome.RELEASE_ON_ARRIVAL, 2: Outcome.CONFORMITY_ACCEPTED}

LANE: dict[Outcome, Lane] = {
    Outcome.RELEASE_ON_ARRIVAL: Lane.GREEN,
    Outcome.MACHINE_SCAN_FIRST: Lane.YELLOW,
    Outcome.DESTINATION_INSPECTION: Lane.RED,
    Outcome.CONDITIONAL_REMOVAL: Lane.BLUE,
    Outcome.PORT_INSPECTION: Lane.RED,
    Outcome.REFUSE_ENTRY: Lane.RED,
    Outcome.GREEN_CHANNEL: Lane.GREEN,
    Outcome.CONFORMITY_ACCEPTED: Lane.GREEN,
    Outcome.RELEASE_FIRST_TEST_LATER: Lane.BLUE,
    Outcome.RELEASE_ON_INSPECTION: Lane.RED,
    Outcome.DOCUMENTS_REQUIRED: Lane.YELLOW,
    Outcome.LAB_TEST_HOLD: Lane.RED,
}

# Where the consolidated inspection order is carried out (a rule action may override it).
DEFAULT_LOCATION: dict[Outcome, str | None] = {
    Outcome.RELEASE_ON_ARRIVAL: None,
    Outcome.MACHINE_SCAN_FIRST: "port",
    Outcome.DESTINATION_INSPECTION: "destination",
    Outcome.CONDITIONAL_REMOVAL: "approved_site",
    Outcome.PORT_INSPECTION: "port",
    Outcome.REFUSE_ENTRY: "port",
    Outcome.GREEN_CHANNEL: None,
    Outcome.CONFORMITY_ACCEPTED: None,
    Outcome.RELEASE_FIRST_TEST_LATER: "port",
    Outcome.RELEASE_ON_INSPECTION: "port",
    Outcome.DOCUMENTS_REQUIRED: None,
    Outcome.LAB_TEST_HOLD: "port",
}

# Outcomes that count as "inspected" when reporting realised inspection rates (physical or scan).
INSPECTION_OUTCOMES: frozenset[Outcome] = frozenset(
    {
        Outcome.MACHINE_SCAN_FIRST,
        Outcome.DESTINATION_INSPECTION,
        Outcome.CONDITIONAL_REMOVAL,
        Outcome.PORT_INSPECTION,
        Outcome.RELEASE_ON_INSPECTION,
        Outcome.RELEASE_FIRST_TEST_LATER,
        Outcome.LAB_TEST_HOLD,
    }
)


@dataclass(frozen=True, slots=True)
class Check:
    """One check in the consolidated inspection order (查检合一: customs and quarantine together)."""

    code: str
    authority: str  # customs | quarantine
    description: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "authority": self.authority, "description": self.description}


@dataclass(frozen=True, slots=True)
class CreditAdjustment:
    """How the trader's credit class changed one rule hit (the rule's `credit:` entry for that class).

    kind: `exempt` (the rule does not apply to this class), `reduced_rate` (the check applies only when the
    deterministic draw falls below `rate`), `lighter` / `raised` (another outcome, less / more strict).
    A reduced rate may be combined with another outcome (`kind` names the rate; `outcome` shows both)."""

    credit_class: str
    kind: str
    reason: str
    original_outcome: Outcome
    rate: float | None = None  # probability of the check for reduced_rate, else None
    draw: float | None = None  # the deterministic draw compared with `rate`
    selected: bool = True  # False: the hit was waived (exempt, or draw >= rate)

    def to_dict(self) -> dict[str, Any]:
        return {
            "credit_class": self.credit_class,
            "kind": self.kind,
            "reason": self.reason,
            "original_outcome": self.original_outcome.value,
            "rate": self.rate,
            "draw": None if self.draw is None else round(self.draw, 6),
            "selected": self.selected,
        }


@dataclass(frozen=True, slots=True)
class Hit:
    """A rule (or the random sampler / expected-rate top-up) that fired, with its plain-language reason.

    `applied` is False when the trader's credit class waived the hit (`credit` says why and, for a reduced
    rate, which draw decided); such hits are recorded on the decision but do not shape the outcome."""

    rule_id: str
    rule_version: int
    reason: str
    outcome: Outcome
    priority: int = 0
    lines: tuple[int, ...] = ()  # goods lines (GNo) that matched, when the rule looks at goods lines
    applied: bool = True
    credit: CreditAdjustment | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "rule_version": self.rule_version,
            "reason": self.reason,
            "outcome": self.outcome.value,
            "lines": list(self.lines),
            "applied": self.applied,
            "credit_adjustment": self.credit.to_dict() if self.credit else None,
        }


@dataclass(slots=True)
class Decision:
    """One consolidated instruction for one consignment at one stage."""

    stage: int
    outcome: Outcome
    lane: Lane
    checks: list[Check]
    location: str | None
    hits: list[Hit]
    sampled: bool
    ruleset_version: str
    declaration_id: str = ""
    credit_class: str = ""
    # hits the trader's credit class waived (exempt, or not drawn at the reduced rate): recorded, not applied
    waived: list[Hit] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Exactly the public JSON fields of `swhub risk screen` / POST /api/v1/risk/screen. `hits` lists the
        applied hits (strictest first), then the waived ones (`applied: false`)."""
        return {
            "stage": self.stage,
            "outcome": self.outcome.value,
            "lane": self.lane.value,
            "checks": [c.to_dict() for c in self.checks],
            "location": self.location,
            "hits": [h.to_dict() for h in (*self.hits, *self.waived)],
            "sampled": self.sampled,
            "ruleset_version": self.ruleset_version,
        }
