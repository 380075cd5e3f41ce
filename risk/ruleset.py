"""Compiled rules and the rule set (rules + catalogue + sampling policy + version)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from risk.catalog import Catalog
from risk.conditions import CompiledConditions
from risk.facts import Facts
from risk.model import Check, Hit, Lane, Outcome


@dataclass(frozen=True, slots=True, eq=False)
class Rule:
    id: str
    version: int
    stage: int
    reason: str
    priority: int
    outcome: Outcome
    checks: tuple[Check, ...]
    location: str | None  # overrides the outcome's default location
    effective_from: date | None
    effective_to: date | None
    when: CompiledConditions
    unless: CompiledConditions | None
    source: str  # file:line, for officers tracing a hit back to its definition
    seq: int = 0  # position in the rule set: stable evaluation order
    credit: dict[str, CreditEffect] = field(default_factory=dict)  # credit class -> how the hit changes

    def active_on(self, day: date) -> bool:
        if self.effective_from and day < self.effective_from:
            return False
        return not (self.effective_to and day > self.effective_to)

    def evaluate(self, facts: Facts) -> Hit | None:
        lines = self.when.matching_lines(facts)
        if lines is None:
            return None
        if self.unless is not None and self.unless.matching_lines(facts) is not None:
            return None
        return Hit(self.id, self.version, self.reason, self.outcome, self.priority, lines)

    def describe(self) -> dict[str, Any]:
        """A JSON-ready view for officers (GET /api/v1/risk/rules)."""
        return {
            "id": self.id,
            "version": self.version,
            "stage": self.stage,
            "reason": self.reason,
            "priority": self.priority,
            "outcome": self.outcome.value,
            "checks": [c.code for c in self.checks],
            "location": self.location,
            "effective_from": self.effective_from.isoformat() if self.effective_from else None,
            "effective_to": self.effective_to.isoformat() if self.effective_to else None,
            "when": _jsonable(self.when.values),
            "unless": _jsonable(self.unless.values) if self.unless else None,
            "source": self.source,
            "credit": {c: e.describe() for c, e in self.credit.items()},
        }


@dataclass(frozen=True, slots=True)
class CreditEffect:
    """A rule's `credit.<class>` entry: exempt, a reduced-rate draw, another outcome, or rate and outcome.

    With `rate`, the rule's check applies only when the deterministic draw for (declaration, rule) is below
    it; with `outcome` (and optionally `checks`, `location`) the hit takes that outcome instead."""

    exempt: bool = False
    rate: float | None = None
    outcome: Outcome | None = None
    checks: tuple[Check, ...] | None = None
    location: str | None = None
    reason: str = ""

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.exempt:
            out["exempt"] = True
        if self.rate is not None:
            out["rate"] = self.rate
        if self.outcome is not None:
            out["outcome"] = self.outcome.value
        if self.checks is not None:
            out["checks"] = [c.code for c in self.checks]
        if self.location is not None:
            out["location"] = self.location
        if self.reason:
            out["reason"] = self.reason
        return out


@dataclass(frozen=True, slots=True)
class StageSampling:
    """Credit-based random sampling for one stage: sampled declarations get `outcome` and `checks`."""

    outcome: Outcome
    checks: tuple[Check, ...]
    rates: dict[str, float]  # credit class -> probability


@dataclass(frozen=True, slots=True)
class TopUp:
    """ASYCUDA-style expected rate for one lane: would-be-green declarations are selected until the lane's
    realised rate reaches `rate`."""

    lane: Lane
    rate: float
    outcome: Outcome
    checks: tuple[Check, ...]


@dataclass(frozen=True, slots=True)
class SamplingPolicy:
    seed: int = 0
    stages: dict[int, StageSampling] = field(default_factory=dict)
    expected_rates: dict[int, tuple[TopUp, ...]] = field(default_factory=dict)  # precedence red>yellow>blue


@dataclass(slots=True)
class RuleSet:
    version: str  # declared version + content hash, recorded on every decision
    description: str
    rules: tuple[Rule, ...]
    catalog: Catalog
    sampling: SamplingPolicy
    source: str = ""

    def rules_for(self, stage: int) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if r.stage == stage)

    def describe(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "description": self.description,
            "source": self.source,
            "sampling": {
                "seed": self.sampling.seed,
                "stages": {
                    str(s): {
                        "outcome": p.outcome.value,
                        "checks": [c.code for c in p.checks],
                        "rates": p.rates,
                    }
                    for s, p in self.sampling.stages.items()
                },
                "expected_rates": {
                    str(s): {t.lane.value: t.rate for t in tops}
                    for s, tops in self.sampling.expected_rates.items()
                },
            },
            "rules": [r.describe() for r in self.rules],
        }


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {k: sorted(v) if isinstance(v, frozenset) else v for k, v in values.items()}
