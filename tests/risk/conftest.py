"""Rule-engine fixtures for the risk tests (builders live in risk_builders.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from risk import RuleEngine, load_ruleset
from risk.ruleset import SamplingPolicy


@pytest.fixture(scope="session")
def shipped_ruleset():
    return load_ruleset()


@pytest.fixture(scope="session")
def rules_only(shipped_ruleset) -> RuleEngine:
    """The shipped rules with random sampling switched off, so outcomes depend on rule hits only."""
    return RuleEngine(replace(shipped_ruleset, sampling=SamplingPolicy(seed=0)))


@pytest.fixture(scope="session")
def engine(shipped_ruleset) -> RuleEngine:
    return RuleEngine(shipped_ruleset)
