"""Reference data the rules refer to: goods categories, reference prices, licence requirements,
the check catalogue, exchange rates and approved storage sites. Loaded from the rule directory
(see docs/risk.md), looked up by HS code prefix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from risk.model import Check


@dataclass(frozen=True, slots=True)
class Category:
    """A goods category: an item belongs when its HS code starts with one of `hs_prefixes` (if given),
    it carries one of `goods_attr` codes (if given), and, with `un_number`, it has a UN number."""

    name: str
    description: str
    hs_prefixes: tuple[str, ...] = ()
    goods_attr: frozenset[str] = frozenset()
    un_number: bool = False


@dataclass(frozen=True, slots=True)
class ReferencePrice:
    hs_prefix: str
    price: Decimal  # per unit, in `currency`
    currency: str
    unit: str = ""  # customs unit code (035 = kg); empty = compare whatever unit was declared


@dataclass(frozen=True, slots=True)
class LicenceRequirement:
    documents: tuple[str, ...]  # all of these 随附单证 codes are required
    hs_prefix: str = ""
    category: str = ""


@dataclass(slots=True)
class Catalog:
    categories: dict[str, Category] = field(default_factory=dict)
    reference_prices: dict[str, ReferencePrice] = field(default_factory=dict)  # by HS prefix
    licence_documents: dict[str, str] = field(default_factory=dict)  # code -> description
    licence_requirements: list[LicenceRequirement] = field(default_factory=list)
    checks: dict[str, Check] = field(default_factory=dict)
    fx_to_usd: dict[str, Decimal] = field(default_factory=dict)  # currency code -> USD per unit
    approved_storage_sites: frozenset[str] = frozenset()
    # derived lookups, built by finish()
    _cat_by_prefix: dict[str, list[Category]] = field(default_factory=dict)
    _cat_any_hs: list[Category] = field(default_factory=list)
    _lic_by_prefix: dict[str, list[LicenceRequirement]] = field(default_factory=dict)
    _lic_by_category: dict[str, list[LicenceRequirement]] = field(default_factory=dict)
    _price_max_len: int = 0

    def finish(self) -> Catalog:
        self._cat_by_prefix = {}
        self._cat_any_hs = []
        for cat in self.categories.values():
            if not cat.hs_prefixes:
                self._cat_any_hs.append(cat)
            for p in cat.hs_prefixes:
                self._cat_by_prefix.setdefault(p, []).append(cat)
        self._lic_by_prefix = {}
        self._lic_by_category = {}
        for req in self.licence_requirements:
            if req.hs_prefix:
                self._lic_by_prefix.setdefault(req.hs_prefix, []).append(req)
            else:
                self._lic_by_category.setdefault(req.category, []).append(req)
        self._price_max_len = max((len(p) for p in self.reference_prices), default=0)
        return self

    def categories_of(self, hs: str, goods_attr: frozenset[str], has_un: bool) -> frozenset[str]:
        found: set[str] = set()
        for n in range(1, len(hs) + 1):
            for cat in self._cat_by_prefix.get(hs[:n], ()):
                if _attr_ok(cat, goods_attr, has_un):
                    found.add(cat.name)
        for cat in self._cat_any_hs:
            if (cat.goods_attr or cat.un_number) and _attr_ok(cat, goods_attr, has_un):
                found.add(cat.name)
        return frozenset(found)

    def reference_price(self, hs: str) -> ReferencePrice | None:
        """The most specific (longest prefix) reference price for an HS code."""
        for n in range(min(len(hs), self._price_max_len), 0, -1):
            ref = self.reference_prices.get(hs[:n])
            if ref is not None:
                return ref
        return None

    def required_documents(self, hs: str, categories: frozenset[str]) -> set[str]:
        needed: set[str] = set()
        for n in range(1, len(hs) + 1):
            for req in self._lic_by_prefix.get(hs[:n], ()):
                needed.update(req.documents)
        for cat in categories:
            for req in self._lic_by_category.get(cat, ()):
                needed.update(req.documents)
        return needed

    def to_usd(self, amount: Decimal, currency: str) -> Decimal | None:
        rate = self.fx_to_usd.get(currency.strip().upper())
        return None if rate is None else amount * rate


def _attr_ok(cat: Category, goods_attr: frozenset[str], has_un: bool) -> bool:
    if cat.goods_attr and not (cat.goods_attr & goods_attr):
        return False
    return not (cat.un_number and not has_un)
