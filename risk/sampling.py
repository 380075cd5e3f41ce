"""Credit-based random sampling and the ASYCUDA-style expected-rate top-up.

The random draw is a pure function of (seed, stage, declaration id): BLAKE2b of those, read as a number
in [0, 1). A re-run, or an auditor holding the seed, reproduces every selection; different ids give
independent, uniformly spread draws, so the realised rate converges on the configured one.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import replace

from risk.model import DEFAULT_LOCATION, LANE, Decision, Hit, Lane
from risk.ruleset import TopUp

_SCALE = float(1 << 64)

# GACC's published 2019 average inspection rates (overall, not only random): 0.57 % for advanced-certified
# (AEO) enterprises, 84.76 % for discredited enterprises. The shipped rules are calibrated to land near
# them on the default population (tests/risk/test_risk_calibration.py).
PUBLISHED_INSPECTION_RATES: dict[str, float] = {"aeo": 0.0057, "discredited": 0.8476}

# The shipped random-sampling rates (risk/rules/ruleset.yaml): the random component only. AEO 0.3 % is
# chosen so that sampling plus the credit-adjusted rule hits realise about 0.6 %; certified and general
# are illustrative (no published figure); discredited is the published figure. See docs/risk.md.
DEFAULT_RATES: dict[str, float] = {"aeo": 0.003, "certified": 0.015, "general": 0.03, "discredited": 0.8476}


def draw(seed: int, declaration_id: str, stage: int) -> float:
    """Deterministic uniform number in [0, 1) for this declaration at this stage."""
    digest = hashlib.blake2b(f"{seed}|{stage}|{declaration_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _SCALE


def is_sampled(seed: int, declaration_id: str, stage: int, rate: float) -> bool:
    return draw(seed, declaration_id, stage) < rate


class LaneQuota:
    """Expected-rate top-up for one stage (stateful, like ASYCUDA's): when a lane's realised share of the
    declarations seen so far is below its expected rate, the next would-be-green declaration (no hits at
    all) is moved into that lane; precedence red > yellow > blue. Deterministic for a given order of
    declarations; every top-up is recorded as a hit with its reason."""

    def __init__(self, stage: int, top_ups: tuple[TopUp, ...]) -> None:
        self.stage = stage
        self.top_ups = top_ups
        self.seen = 0
        self.lanes: Counter[Lane] = Counter()
        self.topped_up: Counter[Lane] = Counter()

    def apply(self, decision: Decision) -> Decision:
        self.seen += 1
        if decision.lane is Lane.GREEN and not decision.hits:
            for top in self.top_ups:
                if self.lanes[top.lane] < top.rate * self.seen:
                    actual = self.lanes[top.lane] / self.seen
                    hit = Hit(
                        rule_id=f"TOPUP-{top.lane.value.upper()}",
                        rule_version=1,
                        reason=(
                            f"Expected-rate top-up: the {top.lane.value} lane is at {actual:.2%} "
                            f"of declarations, below its expected {top.rate:.2%}; selected from "
                            "would-be-green "
                            "declarations."
                        ),
                        outcome=top.outcome,
                    )
                    decision = replace(
                        decision,
                        outcome=top.outcome,
                        lane=LANE[top.outcome],
                        checks=list(top.checks),
                        location=DEFAULT_LOCATION[top.outcome],
                        hits=[hit],
                    )
                    self.topped_up[top.lane] += 1
                    break
        self.lanes[decision.lane] += 1
        return decision

    def rates(self) -> dict[str, float]:
        return {lane.value: (self.lanes[lane] / self.seen if self.seen else 0.0) for lane in Lane}
