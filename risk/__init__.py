"""Two-stage admission (两段准入) risk screening: a plain library, no I/O beyond reading rule files.

Typical use by the hub:

    engine = RuleEngine.from_directory(rules_dir)          # or RuleEngine() for the shipped rules
    decision = engine.screen(declaration, ScreeningContext(trader=TraderProfile("aeo")), stage=1)
    decision.to_dict()   # {stage, outcome, lane, checks, location, hits, sampled, ruleset_version}
    # hits[]: applied first, then those the trader's credit class waived, each with its credit adjustment
    errors = engine.reload(rules_dir)                      # [] = activated; else the old set keeps running
"""

from risk.context import ScreeningContext, TraderProfile
from risk.engine import CompiledRuleSet, RuleEngine, screen
from risk.errors import FollowUpError, RiskError, RuleError, RuleSetError, ScreeningError
from risk.followup import (
    DirectReleaseCounter,
    FollowUp,
    FollowUpKind,
    lab_result,
    quarantine_result,
    scan_result,
)
from risk.loader import DEFAULT_RULES_DIR, load_ruleset
from risk.model import Check, CreditAdjustment, CreditClass, Decision, Hit, Lane, Outcome, Stage
from risk.ruleset import Rule, RuleSet
from risk.sampling import DEFAULT_RATES, PUBLISHED_INSPECTION_RATES, LaneQuota, draw, is_sampled

__all__ = [
    "DEFAULT_RATES",
    "DEFAULT_RULES_DIR",
    "Check",
    "CompiledRuleSet",
    "CreditAdjustment",
    "CreditClass",
    "Decision",
    "DirectReleaseCounter",
    "FollowUp",
    "FollowUpError",
    "FollowUpKind",
    "Hit",
    "Lane",
    "LaneQuota",
    "Outcome",
    "PUBLISHED_INSPECTION_RATES",
    "RiskError",
    "Rule",
    "RuleEngine",
    "RuleError",
    "RuleSet",
    "RuleSetError",
    "ScreeningContext",
    "ScreeningError",
    "Stage",
    "TraderProfile",
    "draw",
    "is_sampled",
    "lab_result",
    "load_ruleset",
    "quarantine_result",
    "scan_result",
    "screen",
]
