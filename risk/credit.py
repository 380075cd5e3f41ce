"""Credit-differentiated control: how a trader's credit class changes one rule hit (the rule's `credit:`).

Pure function of (rule, hit, credit class, seed, declaration id), so every adjustment is reproducible:
the reduced-rate draw is BLAKE2b over the seed, the stage and "<declaration id>|<rule id>", independent of
the random compliance sample and of the other rules' draws. The adjustment and the draw are recorded on
the hit with a plain-language reason.
"""

from __future__ import annotations

from dataclasses import replace

from risk.model import RANK, Check, CreditAdjustment, Hit
from risk.ruleset import CreditEffect, Rule
from risk.sampling import draw

_LABEL = {
    "aeo": "advanced-certified (AEO)",
    "certified": "general-certified",
    "general": "general-credit",
    "discredited": "discredited",
}


def adjust(
    rule: Rule, hit: Hit, credit_class: str, seed: int, declaration_id: str
) -> tuple[Hit, tuple[Check, ...], str | None]:
    """The hit as the trader's credit class makes it, with the checks and location it asks for."""
    effect = rule.credit.get(credit_class)
    if effect is None:
        return hit, rule.checks, rule.location
    who = _LABEL.get(credit_class, credit_class)
    if effect.exempt:
        adj = CreditAdjustment(
            credit_class, "exempt", effect.reason or f"{who} traders are exempt from this rule.",
            hit.outcome, selected=False,
        )  # fmt: skip
        return replace(hit, applied=False, credit=adj), rule.checks, rule.location
    outcome = effect.outcome or hit.outcome
    checks = effect.checks if effect.checks is not None else rule.checks
    location = effect.location if effect.outcome is not None else rule.location
    if effect.rate is not None:
        u = draw(seed, f"{declaration_id}|{rule.id}", rule.stage)
        selected = u < effect.rate
        verdict = "selected" if selected else "not selected: the check is waived"
        reason = (
            f"{effect.reason + ' ' if effect.reason else ''}{who} traders are checked under this rule at "
            f"{effect.rate:.2%} (draw {u:.4f}, seed {seed}): {verdict}"
            f"{_outcome_note(effect, hit) if selected else ''}."
        )
        adj = CreditAdjustment(credit_class, "reduced_rate", reason, hit.outcome, effect.rate, u, selected)
        if not selected:
            return replace(hit, applied=False, credit=adj), rule.checks, rule.location
        return replace(hit, outcome=outcome, credit=adj), checks, location
    kind = "raised" if RANK[outcome] > RANK[hit.outcome] else "lighter"
    reason = effect.reason or f"{who} trader{_outcome_note(effect, hit)}."
    adj = CreditAdjustment(credit_class, kind, reason, hit.outcome)
    return replace(hit, outcome=outcome, credit=adj), checks, location


def _outcome_note(effect: CreditEffect, hit: Hit) -> str:
    if effect.outcome is None or effect.outcome is hit.outcome:
        return ""
    word = "raised" if RANK[effect.outcome] > RANK[hit.outcome] else "lightened"
    return f"; {word} from {hit.outcome.value} to {effect.outcome.value}"
