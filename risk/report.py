"""Population reports: realised rates of a rule set (simulate) and the change between two rule sets
(what-if, before a new set is activated)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from messages.models.declaration import Declaration
from risk.context import ScreeningContext
from risk.engine import CompiledRuleSet, screen
from risk.followup import DirectReleaseCounter, scan_result
from risk.model import INSPECTION_OUTCOMES, Decision, Lane, Outcome
from risk.ruleset import RuleSet
from risk.sampling import LaneQuota, draw

Pair = tuple[Declaration, ScreeningContext]


@dataclass(slots=True)
class StageTally:
    """Counts for one stage over a population."""

    stage: int
    total: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    lanes: Counter[str] = field(default_factory=Counter)
    rule_hits: Counter[str] = field(default_factory=Counter)
    by_credit: Counter[str] = field(default_factory=Counter)
    inspected_by_credit: Counter[str] = field(default_factory=Counter)
    sampled_by_credit: Counter[str] = field(default_factory=Counter)

    def add(self, d: Decision) -> None:
        self.total += 1
        self.outcomes[d.outcome.value] += 1
        self.lanes[d.lane.value] += 1
        self.by_credit[d.credit_class] += 1
        if d.outcome in INSPECTION_OUTCOMES:
            self.inspected_by_credit[d.credit_class] += 1
        if d.sampled:
            self.sampled_by_credit[d.credit_class] += 1
        for h in d.hits:
            self.rule_hits[h.rule_id] += 1

    def lane_rates(self) -> dict[str, float]:
        return {lane.value: _rate(self.lanes[lane.value], self.total) for lane in Lane}

    def outcome_rates(self) -> dict[str, float]:
        return {k: _rate(v, self.total) for k, v in sorted(self.outcomes.items())}

    def to_dict(self, configured: dict[str, float] | None = None) -> dict[str, Any]:
        credit = {}
        for c in sorted(self.by_credit):
            n = self.by_credit[c]
            credit[c] = {
                "declarations": n,
                "inspection_rate": _rate(self.inspected_by_credit[c], n),
                "sampling_rate": _rate(self.sampled_by_credit[c], n),
                "configured_sampling_rate": (configured or {}).get(c),
            }
        return {
            "declarations": self.total,
            "inspection_rate": _rate(sum(self.inspected_by_credit.values()), self.total),
            "per_credit_class": credit,
            "per_outcome": {
                k: {"count": v, "rate": _rate(v, self.total)} for k, v in sorted(self.outcomes.items())
            },
            "per_lane": self.lane_rates(),
            "rule_hits": dict(self.rule_hits.most_common()),
        }


def _rate(n: int, total: int) -> float:
    return round(n / total, 6) if total else 0.0


def simulate(
    ruleset: RuleSet,
    population: Iterable[Pair],
    *,
    seed: int | None = None,
    stages: tuple[int, ...] = (1, 2),
    scan_clear_rate: float = 0.9,
) -> dict[str, Any]:
    """Screen a population and report realised rates per credit class, outcome and lane. Machine-scan-first
    consignments get a deterministic simulated scan result (clear with `scan_clear_rate`), from which the
    direct-release ratio (机检后直接放行比例) is computed."""
    compiled = CompiledRuleSet(ruleset)
    tallies = {s: StageTally(s) for s in stages}
    quotas = {s: _quota(ruleset, s) for s in stages}
    scans = DirectReleaseCounter()
    scan_seed = (ruleset.sampling.seed if seed is None else seed) + 7919
    for decl, ctx in population:
        for s in stages:
            d = screen(compiled, decl, ctx, s, seed=seed, quota=quotas[s])
            tallies[s].add(d)
            if d.outcome is Outcome.MACHINE_SCAN_FIRST:
                scans.record(scan_result(d, draw(scan_seed, d.declaration_id, s) < scan_clear_rate))
    out: dict[str, Any] = {
        "ruleset_version": ruleset.version,
        "seed": ruleset.sampling.seed if seed is None else seed,
        "stages": {},
    }
    for s, t in tallies.items():
        policy = ruleset.sampling.stages.get(s)
        out["stages"][str(s)] = t.to_dict(policy.rates if policy else None)
    out["machine_scan"] = {**scans.to_dict(), "simulated_clear_rate": scan_clear_rate}
    return out


def _quota(ruleset: RuleSet, stage: int) -> LaneQuota | None:
    tops = ruleset.sampling.expected_rates.get(stage)
    return LaneQuota(stage, tops) if tops else None


def what_if(
    baseline: RuleSet,
    candidate: RuleSet,
    population: Iterable[Pair],
    *,
    seed: int | None = None,
    stages: tuple[int, ...] = (1, 2),
    examples: int = 10,
) -> dict[str, Any]:
    """How lane and outcome rates would change if `candidate` replaced `baseline`, on the same declarations
    and the same sampling seed."""
    base_c, cand_c = CompiledRuleSet(baseline), CompiledRuleSet(candidate)
    base = {s: StageTally(s) for s in stages}
    cand = {s: StageTally(s) for s in stages}
    base_q = {s: _quota(baseline, s) for s in stages}
    cand_q = {s: _quota(candidate, s) for s in stages}
    changed: dict[int, Counter[str]] = {s: Counter() for s in stages}
    samples: dict[int, list[dict[str, Any]]] = {s: [] for s in stages}
    for decl, ctx in population:
        for s in stages:
            b = screen(base_c, decl, ctx, s, seed=seed, quota=base_q[s])
            c = screen(cand_c, decl, ctx, s, seed=seed, quota=cand_q[s])
            base[s].add(b)
            cand[s].add(c)
            if b.outcome != c.outcome:
                changed[s][f"{b.outcome.value} -> {c.outcome.value}"] += 1
                if len(samples[s]) < examples:
                    samples[s].append(
                        {
                            "declaration_id": b.declaration_id,
                            "before": b.outcome.value,
                            "after": c.outcome.value,
                            "new_hits": sorted({h.rule_id for h in c.hits} - {h.rule_id for h in b.hits}),
                        }
                    )
    report: dict[str, Any] = {
        "baseline_version": baseline.version,
        "candidate_version": candidate.version,
        "stages": {},
    }
    for s in stages:
        bl, cl = base[s].lane_rates(), cand[s].lane_rates()
        bo, co = base[s].outcome_rates(), cand[s].outcome_rates()
        keys = sorted(set(bo) | set(co))
        rules = sorted(set(base[s].rule_hits) | set(cand[s].rule_hits))
        bc, cc = base[s].to_dict()["per_credit_class"], cand[s].to_dict()["per_credit_class"]
        report["stages"][str(s)] = {
            "declarations": base[s].total,
            "per_credit_class": {
                c: {
                    "declarations": bc[c]["declarations"],
                    "baseline": bc[c]["inspection_rate"],
                    "candidate": cc[c]["inspection_rate"],
                    "delta": round(cc[c]["inspection_rate"] - bc[c]["inspection_rate"], 6),
                }
                for c in _credit_order(bc)
            },
            "inspection_rate": {
                "baseline": _rate(sum(base[s].inspected_by_credit.values()), base[s].total),
                "candidate": _rate(sum(cand[s].inspected_by_credit.values()), cand[s].total),
            },
            "lanes": {
                k: {"baseline": bl[k], "candidate": cl[k], "delta": round(cl[k] - bl[k], 6)} for k in bl
            },
            "outcomes": {
                k: {
                    "baseline": bo.get(k, 0.0),
                    "candidate": co.get(k, 0.0),
                    "delta": round(co.get(k, 0.0) - bo.get(k, 0.0), 6),
                }
                for k in keys
            },
            "changed_decisions": sum(changed[s].values()),
            "transitions": dict(changed[s].most_common()),
            "rule_hit_changes": {
                r: {"baseline": base[s].rule_hits[r], "candidate": cand[s].rule_hits[r]}
                for r in rules
                if base[s].rule_hits[r] != cand[s].rule_hits[r]
            },
            "examples": samples[s],
        }
    return report


_CREDIT_ORDER = ("aeo", "certified", "general", "discredited")


def _credit_order(classes: Iterable[str]) -> list[str]:
    present = set(classes)
    return [c for c in _CREDIT_ORDER if c in present] + sorted(present - set(_CREDIT_ORDER))


def _pct(x: float) -> str:
    return f"{x * 100:.2f} %"


def _signed(x: float) -> str:
    return f"{x * 100:+.2f} pp"


def render_table(report: dict[str, Any]) -> str:
    """The what-if report as Markdown tables: per stage, realised inspection rate per credit class and the
    share of each outcome, active vs candidate rule set side by side with the difference."""
    lines = [f"active: {report['baseline_version']}  candidate: {report['candidate_version']}", ""]
    for stage, st in report["stages"].items():
        lines += [
            f"stage {stage} ({st['declarations']:,} declarations, "
            f"{st['changed_decisions']:,} decisions change)",
            "",
            "| realised rate | active | candidate | difference |",
            "|---|---:|---:|---:|",
        ]
        for c, v in st["per_credit_class"].items():
            lines.append(
                f"| inspection, {c} ({v['declarations']:,} decl.) | {_pct(v['baseline'])} "
                f"| {_pct(v['candidate'])} | {_signed(v['delta'])} |"
            )
        total = st["inspection_rate"]
        lines.append(
            f"| inspection, all | {_pct(total['baseline'])} | {_pct(total['candidate'])} "
            f"| {_signed(total['candidate'] - total['baseline'])} |"
        )
        for o, v in st["outcomes"].items():
            lines.append(
                f"| outcome {o} | {_pct(v['baseline'])} | {_pct(v['candidate'])} | {_signed(v['delta'])} |"
            )
        lines.append("")
    return "\n".join(lines)
