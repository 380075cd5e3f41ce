"""The condition vocabulary of rule files: parsing/validation of each condition and its compiled test.

A rule's `when:` is a mapping of condition name -> value; all conditions must hold (AND), a list value
means any of its entries (OR). Goods-line ("item") conditions must all hold on the SAME goods line.
`unless:` uses the same vocabulary and vetoes the rule when it holds as a whole.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from risk.catalog import Catalog
from risk.countries import is_country_code, normalize_country
from risk.facts import Facts, ItemFacts
from risk.model import CreditClass

Level = Literal["item", "head"]
ItemTest = Callable[[ItemFacts], bool]
HeadTest = Callable[[Facts], bool]

_HS_PREFIX = re.compile(r"^\d{2,10}$")
_UN = re.compile(r"^\d{4}$")
_TRADE_MODE = re.compile(r"^\d{4}$")
_KINDS = {"ordinary", "summary", "complete"}
_CREDIT = {c.value for c in CreditClass}


class ConditionValueError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class ConditionSpec:
    name: str
    level: Level
    help: str
    parse: Callable[[Any, Catalog], Any]  # raises ConditionValueError with every problem in the value
    make: Callable[[Any], Callable[[Any], bool]]
    indexable: bool = False  # list-valued equality: usable as a candidate-index key


# ---- value parsers ---------------------------------------------------------------------------


def _codes(value: Any, what: str, check: Callable[[str], str | None]) -> frozenset[str]:
    values = value if isinstance(value, list) else [value]
    if not values:
        raise ConditionValueError(f"empty list of {what}")
    problems, out = [], set()
    for v in values:
        if isinstance(v, bool) or not isinstance(v, str):
            hint = " (quote codes: YAML reads 0801 as an octal number)" if isinstance(v, int) else ""
            problems.append(f"{v!r} must be a quoted string{hint}")
            continue
        bad = check(v)
        if bad:
            problems.append(bad)
        else:
            out.add(v)
    if problems:
        raise ConditionValueError("; ".join(problems))
    return frozenset(out)


def _hs(value: Any, _c: Catalog) -> frozenset[str]:
    return _codes(
        value, "HS prefixes", lambda v: None if _HS_PREFIX.match(v) else f"{v!r} is not 2-10 digits"
    )


def _un(value: Any, _c: Catalog) -> frozenset[str]:
    return _codes(
        value, "UN numbers", lambda v: None if _UN.match(v) else f"{v!r} is not a 4-digit UN number"
    )


def _countries(value: Any, _c: Catalog) -> frozenset[str]:
    codes = _codes(
        value, "countries", lambda v: None if is_country_code(v) else f"{v!r} is not a country code"
    )
    return frozenset(normalize_country(c) for c in codes)


def _categories(value: Any, catalog: Catalog) -> frozenset[str]:
    known = sorted(catalog.categories)
    return _codes(
        value,
        "categories",
        lambda v: None if v in catalog.categories else f"unknown category {v!r} (known: {', '.join(known)})",
    )


def _one_of(choices: set[str]) -> Callable[[Any, Catalog], frozenset[str]]:
    def parse(value: Any, _c: Catalog) -> frozenset[str]:
        return _codes(value, "values", lambda v: None if v in choices else f"{v!r} not in {sorted(choices)}")

    return parse


def _pattern(rx: re.Pattern[str], what: str) -> Callable[[Any, Catalog], frozenset[str]]:
    def parse(value: Any, _c: Catalog) -> frozenset[str]:
        return _codes(value, what, lambda v: None if rx.match(v) else f"{v!r} is not a valid {what}")

    return parse


def _any_str(value: Any, _c: Catalog) -> frozenset[str]:
    return _codes(value, "codes", lambda v: None if v.strip() else "empty code")


def _bool(value: Any, _c: Catalog) -> bool:
    if not isinstance(value, bool):
        raise ConditionValueError(f"{value!r} must be true or false")
    return value


def _percent(value: Any, _c: Catalog) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1000:
        raise ConditionValueError(f"{value!r} must be a number of percent between 0 and 1000")
    return float(value)


# ---- compiled tests --------------------------------------------------------------------------


def _hs_test(prefixes: frozenset[str]) -> ItemTest:
    lengths = sorted({len(p) for p in prefixes})

    def test(item: ItemFacts) -> bool:
        hs = item.hs
        return any(hs[:n] in prefixes for n in lengths if n <= len(hs))

    return test


def _item_attr_in(attr: str) -> Callable[[frozenset[str]], ItemTest]:
    def make(values: frozenset[str]) -> ItemTest:
        return lambda item: getattr(item, attr) in values

    return make


def _head_attr_in(attr: str) -> Callable[[frozenset[str]], HeadTest]:
    def make(values: frozenset[str]) -> HeadTest:
        return lambda facts: getattr(facts, attr) in values

    return make


def _head_flag(attr: str) -> Callable[[bool], HeadTest]:
    def make(expected: bool) -> HeadTest:
        return lambda facts: getattr(facts, attr) is expected

    return make


SPECS: dict[str, ConditionSpec] = {
    s.name: s
    for s in [
        # goods-line conditions
        ConditionSpec(
            "hs_prefix", "item", "HS code starts with one of these digit strings", _hs, _hs_test, True
        ),
        ConditionSpec(
            "category",
            "item",
            "goods category from the catalogue",
            _categories,
            lambda v: lambda item: not v.isdisjoint(item.categories),
            True,
        ),
        ConditionSpec(
            "origin_country", "item", "country of origin (alpha-3)", _countries, _item_attr_in("origin"), True
        ),
        ConditionSpec(
            "un_number", "item", "dangerous goods UN number", _un, _item_attr_in("un_number"), True
        ),
        ConditionSpec(
            "dangerous_goods",
            "item",
            "line carries a UN number",
            _bool,
            lambda v: lambda item: bool(item.un_number) is v,
        ),
        ConditionSpec(
            "price_below_reference_pct",
            "item",
            "declared unit value at least N% below the reference price",
            _percent,
            lambda x: lambda item: item.price_deviation_pct is not None and item.price_deviation_pct <= -x,
        ),
        ConditionSpec(
            "price_above_reference_pct",
            "item",
            "declared unit value at least N% above the reference price",
            _percent,
            lambda x: lambda item: item.price_deviation_pct is not None and item.price_deviation_pct >= x,
        ),
        ConditionSpec(
            "licence_missing",
            "item",
            "a licence document required for the line's HS code/category "
            "is missing (true) or all are present (false)",
            _bool,
            lambda v: lambda item: bool(item.missing_documents) is v,
        ),
        # declaration-level conditions
        ConditionSpec(
            "shipping_country",
            "head",
            "country shipped from (TradeCountry, alpha-3)",
            _countries,
            _head_attr_in("shipping_country"),
            True,
        ),
        ConditionSpec(
            "trade_mode",
            "head",
            "监管方式 code, e.g. '0110'",
            _pattern(_TRADE_MODE, "trade mode"),
            _head_attr_in("trade_mode"),
            True,
        ),
        ConditionSpec(
            "transport_mode", "head", "TrafMode code, e.g. '2' sea", _any_str, _head_attr_in("transport_mode")
        ),
        ConditionSpec(
            "ie_flag", "head", "I import / E export", _one_of({"I", "E"}), _head_attr_in("ie_flag")
        ),
        ConditionSpec(
            "declaration_kind",
            "head",
            "ordinary / summary / complete",
            _one_of(_KINDS),
            _head_attr_in("declaration_kind"),
        ),
        ConditionSpec(
            "licence_present",
            "head",
            "one of these licence document codes is attached",
            _any_str,
            lambda v: lambda facts: not v.isdisjoint(facts.licence_codes),
        ),
        ConditionSpec(
            "weight_discrepancy_pct",
            "head",
            "gross weights of declaration, manifest and tally differ by more than N%",
            _percent,
            lambda x: lambda f: f.weight_discrepancy_pct is not None and f.weight_discrepancy_pct > x,
        ),
        # trader profile
        ConditionSpec(
            "credit_class",
            "head",
            "trader credit class",
            _one_of(_CREDIT),
            _head_attr_in("credit_class"),
            True,
        ),
        ConditionSpec(
            "aeo_mra_country",
            "head",
            "AEO mutual-recognition country (alpha-3)",
            _countries,
            _head_attr_in("aeo_mra_country"),
            True,
        ),
        ConditionSpec("ftz", "head", "trader registered in the free trade zone", _bool, _head_flag("ftz")),
        ConditionSpec(
            "conditional_removal_applied",
            "head",
            "DecTpAccess/ConditionalLiftoffApply = 1",
            _bool,
            _head_flag("conditional_removal_applied"),
        ),
        ConditionSpec(
            "storage_site_approved",
            "head",
            "DecTpAccess/TransitionSite is an approved site",
            _bool,
            _head_flag("storage_site_approved"),
        ),
        ConditionSpec(
            "merged_inspection_applied",
            "head",
            "DecTpAccess/PortDestMergeCheckApply = 1",
            _bool,
            _head_flag("merged_inspection_applied"),
        ),
    ]
}

# Preference order for the candidate index: the most selective key a rule has is used.
INDEX_PREFERENCE: tuple[str, ...] = (
    "hs_prefix",
    "un_number",
    "category",
    "origin_country",
    "shipping_country",
    "trade_mode",
    "aeo_mra_country",
    "credit_class",
)


@dataclass(frozen=True, slots=True)
class CompiledConditions:
    head: tuple[HeadTest, ...]
    item: tuple[ItemTest, ...]
    values: dict[str, Any]  # parsed values by condition name (for indexing and display)

    def matching_lines(self, facts: Facts) -> tuple[int, ...] | None:
        """None when the conditions do not hold; else the matching goods lines (empty: head-only)."""
        for test in self.head:
            if not test(facts):
                return None
        if not self.item:
            return ()
        item_tests = self.item
        lines = tuple(it.g_no for it in facts.items if all(t(it) for t in item_tests))
        return lines or None


def compile_conditions(parsed: dict[str, Any]) -> CompiledConditions:
    head: list[HeadTest] = []
    item: list[ItemTest] = []
    for name, value in parsed.items():
        spec = SPECS[name]
        (item if spec.level == "item" else head).append(spec.make(value))
    return CompiledConditions(head=tuple(head), item=tuple(item), values=dict(parsed))
