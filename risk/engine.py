"""Screening: facts -> candidate rules -> hits -> random sample -> one consolidated instruction.

`RuleEngine` holds the active rule set (compiled once, indexed per stage) and swaps it only when a reload
validates completely, so a bad rule file never takes screening down. `screen_naive` checks every rule
against the declaration; it exists as the benchmark baseline and as an oracle in tests.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from messages.models.declaration import Declaration
from risk.context import DEFAULT_CONTEXT, ScreeningContext
from risk.credit import adjust
from risk.errors import RuleError, RuleSetError, ScreeningError
from risk.facts import Facts, extract_facts
from risk.index import RuleIndex
from risk.loader import load_ruleset
from risk.model import DEFAULT_LOCATION, DEFAULT_OUTCOME, LANE, RANK, Check, Decision, Hit, Lane, Outcome
from risk.ruleset import Rule, RuleSet
from risk.sampling import LaneQuota, draw


@dataclass(frozen=True, slots=True)
class _Fired:
    hit: Hit
    checks: tuple[Check, ...]
    location: str | None


class CompiledRuleSet:
    """A rule set with one candidate index per stage; built once per (re)load."""

    def __init__(self, ruleset: RuleSet) -> None:
        self.ruleset = ruleset
        self.indexes = {stage: RuleIndex(ruleset.rules_for(stage)) for stage in (1, 2)}
        self.by_id: dict[str, Rule] = {r.id: r for r in ruleset.rules}


def screen(
    compiled: CompiledRuleSet,
    decl: Declaration,
    ctx: ScreeningContext | None = None,
    stage: int = 1,
    *,
    seed: int | None = None,
    quota: LaneQuota | None = None,
    today: date | None = None,
    naive: bool = False,
) -> Decision:
    """Screen one declaration at one stage. `seed` overrides the rule set's sampling seed; `quota` applies an
    expected-rate top-up; `naive=True` evaluates every rule instead of using the index (baseline)."""
    if stage not in (1, 2):
        raise ScreeningError(f"stage must be 1 or 2, got {stage!r}")
    ctx = ctx or DEFAULT_CONTEXT
    rs = compiled.ruleset
    facts = extract_facts(decl, ctx, rs.catalog, today or date.today())
    candidates = rs.rules_for(stage) if naive else compiled.indexes[stage].candidates(facts)
    effective_seed = rs.sampling.seed if seed is None else seed
    fired, waived = _evaluate(candidates, facts, effective_seed)
    sampled = False
    policy = rs.sampling.stages.get(stage)
    if policy is not None:
        rate = policy.rates.get(facts.credit_class, 0.0)
        if draw(effective_seed, facts.declaration_id, stage) < rate:
            sampled = True
            reason = (
                f"Random compliance sample: declarations of {facts.credit_class}-credit traders are sampled "
                f"at "
                f"{rate:.2%} (seed {effective_seed}, reproducible from the declaration id)."
            )
            fired.append(_Fired(Hit(f"RANDOM-S{stage}", 1, reason, policy.outcome), policy.checks, None))
    decision = consolidate(stage, fired, sampled, rs.version, facts)
    decision.waived = waived
    if quota is not None:
        decision = quota.apply(decision)
    return decision


def _evaluate(
    candidates: list[Rule] | tuple[Rule, ...], facts: Facts, seed: int
) -> tuple[list[_Fired], list[Hit]]:
    """Applied hits (after the credit adjustment) and the hits the trader's credit class waived."""
    fired: list[_Fired] = []
    waived: list[Hit] = []
    day = facts.on_date
    credit = facts.credit_class
    for rule in candidates:
        if not rule.active_on(day):
            continue
        hit = rule.evaluate(facts)
        if hit is None:
            continue
        if rule.credit:
            hit, checks, location = adjust(rule, hit, credit, seed, facts.declaration_id)
            if not hit.applied:
                waived.append(hit)
                continue
            fired.append(_Fired(hit, checks, location))
        else:
            fired.append(_Fired(hit, rule.checks, rule.location))
    waived.sort(key=lambda h: h.rule_id)
    return fired, waived


def consolidate(stage: int, fired: list[_Fired], sampled: bool, version: str, facts: Facts) -> Decision:
    """查检合一: the strictest outcome wins; the checks of every hit that asks for a check are merged into
    one inspection order at one location. A refusal carries only the refusing rules' checks."""
    fired.sort(key=lambda f: (-RANK[f.hit.outcome], -f.hit.priority, f.hit.rule_id))
    if not fired:
        outcome = DEFAULT_OUTCOME[stage]
        return Decision(
            stage,
            outcome,
            LANE[outcome],
            [],
            None,
            [],
            sampled,
            version,
            facts.declaration_id,
            facts.credit_class,
        )
    top = fired[0]
    outcome = top.hit.outcome
    if outcome is Outcome.REFUSE_ENTRY:
        contributing = [f for f in fired if f.hit.outcome is Outcome.REFUSE_ENTRY]
    elif LANE[outcome] is Lane.GREEN:
        contributing = []
    else:
        contributing = [f for f in fired if LANE[f.hit.outcome] is not Lane.GREEN]
    checks: list[Check] = []
    seen: set[str] = set()
    for f in contributing:
        for c in f.checks:
            if c.code not in seen:
                seen.add(c.code)
                checks.append(c)
    location = top.location or DEFAULT_LOCATION[outcome]
    return Decision(
        stage=stage,
        outcome=outcome,
        lane=LANE[outcome],
        checks=checks,
        location=location,
        hits=[f.hit for f in fired],
        sampled=sampled,
        ruleset_version=version,
        declaration_id=facts.declaration_id,
        credit_class=facts.credit_class,
    )


class RuleEngine:
    """Holds the last good rule set. Thread-safe swap on reload; screening reads one consistent set."""

    def __init__(self, ruleset: RuleSet | None = None) -> None:
        self._compiled = CompiledRuleSet(ruleset if ruleset is not None else load_ruleset())
        self._lock = threading.Lock()

    @classmethod
    def from_directory(cls, directory: str | Path | None = None) -> RuleEngine:
        """Raises RuleSetError (with every error) when the directory is invalid."""
        return cls(load_ruleset(directory))

    @property
    def ruleset(self) -> RuleSet:
        return self._compiled.ruleset

    @property
    def version(self) -> str:
        return self._compiled.ruleset.version

    def reload(self, directory: str | Path | None = None) -> list[RuleError]:
        """Load and activate a rule directory. On any error nothing changes (the last good set keeps
        running) and every error is returned; an empty list means the new set is active."""
        try:
            compiled = CompiledRuleSet(load_ruleset(directory))
        except RuleSetError as exc:
            return list(exc.errors)
        with self._lock:
            self._compiled = compiled
        return []

    def screen(
        self,
        decl: Declaration,
        ctx: ScreeningContext | None = None,
        stage: int = 1,
        *,
        seed: int | None = None,
        quota: LaneQuota | None = None,
        today: date | None = None,
    ) -> Decision:
        return screen(self._compiled, decl, ctx, stage, seed=seed, quota=quota, today=today)

    def screen_naive(
        self,
        decl: Declaration,
        ctx: ScreeningContext | None = None,
        stage: int = 1,
        *,
        seed: int | None = None,
        today: date | None = None,
    ) -> Decision:
        """Baseline: evaluate every rule of the stage (no index). Same answer, linear cost."""
        return screen(self._compiled, decl, ctx, stage, seed=seed, today=today, naive=True)

    def quota(self, stage: int) -> LaneQuota | None:
        """A fresh expected-rate tracker for a stage, or None when the rule set configures no top-up."""
        tops = self._compiled.ruleset.sampling.expected_rates.get(stage)
        return LaneQuota(stage, tops) if tops else None

    def describe(self) -> dict[str, object]:
        """Rule set summary for officers (GET /api/v1/risk/rules)."""
        return self._compiled.ruleset.describe()
