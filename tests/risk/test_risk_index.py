"""The candidate index never changes an answer: indexed screening equals checking every rule, on a
generated population against the shipped rules plus thousands of synthetic ones."""

from __future__ import annotations

import yaml

from risk import DEFAULT_RULES_DIR, RuleEngine, load_ruleset
from risk.facts import extract_facts
from risk.index import RuleIndex
from risk.population import generate, synthetic_rules


def build_dir(tmp_path, n: int):
    target = tmp_path / "rules"
    target.mkdir(parents=True)
    for f in DEFAULT_RULES_DIR.glob("*.yaml"):
        (target / f.name).write_bytes(f.read_bytes())
    (target / "synthetic.yaml").write_text(
        yaml.dump({"rules": synthetic_rules(n, seed=5)}, Dumper=yaml.CSafeDumper), encoding="utf-8"
    )
    return target


def test_indexed_equals_naive(tmp_path):
    engine = RuleEngine(load_ruleset(build_dir(tmp_path, 1500)))
    compared = 0
    hits = 0
    for s in generate(700, seed=21):
        for stage in (1, 2):
            fast = engine.screen(s.declaration, s.context, stage)
            slow = engine.screen_naive(s.declaration, s.context, stage)
            assert fast.to_dict() == slow.to_dict()
            compared += 1
            hits += len(fast.hits) + len(fast.waived)
    assert compared == 1400 and hits > 350  # the comparison exercised real hits


def test_candidates_stay_few_as_rules_grow(tmp_path):
    small = load_ruleset(build_dir(tmp_path / "a", 100))
    large = load_ruleset(build_dir(tmp_path / "b", 5_000))

    def mean_candidates(rs) -> float:
        index = RuleIndex(rs.rules_for(1))
        total = 0
        samples = list(generate(300, seed=2))
        for s in samples:
            facts = extract_facts(
                s.declaration, s.context, rs.catalog, s.context.on_date or __import__("datetime").date.today()
            )
            total += len(index.candidates(facts))
        return total / len(samples)

    few, many = mean_candidates(small), mean_candidates(large)
    stage1_rules = len(large.rules_for(1))
    assert stage1_rules > 2500
    assert many < 0.01 * stage1_rules  # the index retrieves well under 1 % of the rules
    assert many < few + 25
