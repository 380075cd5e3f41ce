"""Candidate index: find the rules that can possibly match a declaration without testing them all.

Each rule is filed under ONE key: its most selective indexable condition (INDEX_PREFERENCE: HS prefix
first). A rule can only match if that condition holds, so the declaration's own values (every prefix of
every HS code, its categories, origins, shipping country, trade mode, trader) retrieve a superset of the
matching rules. Rules with no indexable condition are always candidates. Lookup cost therefore depends on
the declaration's size and on how many rules share its keys, not on the total number of rules.
"""

from __future__ import annotations

from collections.abc import Iterable

from risk.conditions import INDEX_PREFERENCE
from risk.facts import Facts
from risk.ruleset import Rule


class RuleIndex:
    def __init__(self, rules: Iterable[Rule]) -> None:
        self.tables: dict[str, dict[str, list[Rule]]] = {key: {} for key in INDEX_PREFERENCE}
        self.always: list[Rule] = []
        for rule in rules:
            key = next((k for k in INDEX_PREFERENCE if k in rule.when.values), None)
            if key is None:
                self.always.append(rule)
                continue
            table = self.tables[key]
            for value in rule.when.values[key]:
                table.setdefault(value, []).append(rule)
        self.hs_lengths = sorted({len(p) for p in self.tables["hs_prefix"]})
        # drop empty tables so lookups skip them
        self.tables = {k: t for k, t in self.tables.items() if t}

    def candidates(self, facts: Facts) -> list[Rule]:
        found: dict[int, Rule] = {r.seq: r for r in self.always}
        tables = self.tables
        if hs_table := tables.get("hs_prefix"):
            lengths = self.hs_lengths
            for item in facts.items:
                hs = item.hs
                for n in lengths:
                    if n > len(hs):
                        break
                    for r in hs_table.get(hs[:n], ()):
                        found[r.seq] = r
        for key, attr in (("un_number", "un_number"), ("origin_country", "origin")):
            if table := tables.get(key):
                for item in facts.items:
                    for r in table.get(getattr(item, attr), ()):
                        found[r.seq] = r
        if table := tables.get("category"):
            for item in facts.items:
                for cat in item.categories:
                    for r in table.get(cat, ()):
                        found[r.seq] = r
        for key in ("shipping_country", "trade_mode", "aeo_mra_country", "credit_class"):
            if table := tables.get(key):
                for r in table.get(getattr(facts, key), ()):
                    found[r.seq] = r
        return [found[k] for k in sorted(found)]

    def size(self) -> int:
        return len(self.always) + sum(len(v) for t in self.tables.values() for v in t.values())
