"""Generated test populations: realistic import declarations with their screening context, and
synthetic rule sets of any size. Used by `swhub risk simulate`, `what-if`, the benchmark and tests.

Deterministic for a given seed. The mix is a `PopulationMix` (credit classes, goods, trade modes, error
rates), configurable from code or a YAML file (`load_mix`, `swhub risk simulate --population FILE`).
The default credit mix follows GACC's published AEO share of trade; goods weights, trade-mode shares
and error rates are illustrative (docs/risk.md § Population says which figure is sourced and which not).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from messages.models.declaration import (
    DecHead,
    Declaration,
    DecListItem,
    DecSign,
    DecTpAccess,
    LicenseDocu,
)
from risk.context import ScreeningContext, TraderProfile
from risk.model import CreditClass

# Share of DECLARATIONS per credit class. AEO: GACC reports 5,882 advanced-certified enterprises
# carrying 36.3 % of trade value (2024-04); their share of declarations is taken as that value share
# (large traders). Discredited and general-certified shares are illustrative (no published figure used).
CREDIT_MIX: tuple[tuple[CreditClass, float], ...] = (
    (CreditClass.AEO, 0.36),
    (CreditClass.CERTIFIED, 0.05),
    (CreditClass.GENERAL, 0.58),
    (CreditClass.DISCREDITED, 0.01),
)

# 监管方式 mix: general trade (0110) is about two thirds of China's trade value (GACC annual statistics,
# approximate); the processing (0615) / bonded (1233) split of the rest is illustrative.
TRADE_MODES: tuple[tuple[str, float], ...] = (("0110", 0.65), ("0615", 0.20), ("1233", 0.15))


@dataclass(frozen=True, slots=True)
class GoodsProfile:
    name: str
    weight: float  # share of the population
    hs_codes: tuple[str, ...]
    origins: tuple[str, ...]
    usd_per_unit: float  # typical unit value
    unit: str = "035"  # kilogram
    documents: tuple[str, ...] = ()  # licence documents normally attached
    goods_attr: str = ""
    uncode: str = ""
    kg_per_unit: float = 1.0
    lab_listed: bool = False


PROFILES: tuple[GoodsProfile, ...] = (
    GoodsProfile(
        "fresh_fruit",
        0.03,
        ("0808100000", "0809290000", "0810600000", "0805100000", "0806100000"),
        ("CHL", "NZL", "THA", "VNM", "USA", "AUS", "PER"),
        3.0,
        documents=("A",),
    ),
    GoodsProfile(
        "jpkr_produce",
        0.005,
        ("0709600000", "0808100000", "0810100000"),
        ("JPN", "KOR"),
        2.5,
        documents=("A",),
    ),
    GoodsProfile("iron_ore", 0.03, ("2601110000", "2601120000"), ("AUS", "BRA", "ZAF"), 0.10),
    GoodsProfile("copper_ore", 0.01, ("2603000010",), ("CHL", "PER", "MNG"), 2.0),
    GoodsProfile("crude_oil", 0.02, ("2709000000",), ("RUS", "SAU", "AGO", "BRA"), 0.55, documents=("7",)),
    GoodsProfile("soybeans", 0.02, ("1201900000",), ("BRA", "USA", "ARG"), 0.45, documents=("A",)),
    GoodsProfile(
        "logs",
        0.01,
        ("4403230000", "4403990000"),
        ("NZL", "RUS", "PNG"),
        0.20,
        documents=("A",),
        goods_attr="23",
    ),
    GoodsProfile("beef", 0.015, ("0202300090",), ("AUS", "BRA", "ARG", "URY"), 5.5, documents=("A",)),
    GoodsProfile("pork", 0.01, ("0203290090",), ("ESP", "USA", "DNK", "DEU"), 2.8, documents=("A",)),
    GoodsProfile(
        "infant_formula",
        0.01,
        ("1901101000",),
        ("NZL", "NLD", "IRL"),
        12.0,
        documents=("A",),
        lab_listed=True,
    ),
    GoodsProfile("wine", 0.01, ("2204210000",), ("FRA", "AUS", "CHL", "ITA"), 6.0, lab_listed=True),
    GoodsProfile("cosmetics", 0.015, ("3304990000",), ("FRA", "KOR", "JPN"), 40.0, lab_listed=True),
    GoodsProfile(
        "excavators", 0.04, ("8429521200",), ("JPN", "KOR", "DEU"), 30000, unit="001", kg_per_unit=20000
    ),
    GoodsProfile("laptops", 0.06, ("8471300000",), ("VNM", "MYS", "THA"), 600, unit="001", kg_per_unit=2.5),
    GoodsProfile("phones", 0.05, ("8517130000",), ("VNM", "IND", "HKG"), 250, unit="001", kg_per_unit=0.4),
    GoodsProfile("chips", 0.07, ("8542319000",), ("TWN", "KOR", "MYS", "JPN"), 900.0),
    GoodsProfile(
        "used_machinery",
        0.005,
        ("8429521200", "8458110000"),
        ("JPN", "KOR", "DEU"),
        9000,
        unit="001",
        kg_per_unit=15000,
        documents=("O",),
        goods_attr="21",
    ),
    GoodsProfile(
        "used_computers",
        0.002,
        ("8471300000",),
        ("USA", "JPN"),
        80,
        unit="001",
        kg_per_unit=2.5,
        goods_attr="21",
    ),
    GoodsProfile(
        "textiles", 0.15, ("6109100010", "6203420000", "6403990000"), ("VNM", "BGD", "KHM", "IDN"), 8.0
    ),
    GoodsProfile("toys", 0.07, ("9503008900",), ("VNM", "IDN"), 6.0),
    GoodsProfile("methanol", 0.01, ("2905110000",), ("SAU", "IRN", "NZL"), 0.35, uncode="1230"),
    GoodsProfile("ammonia", 0.003, ("2814100000",), ("RUS", "IDN"), 0.40, uncode="1005"),
    GoodsProfile("explosives", 0.001, ("3602000000",), ("SWE", "DEU"), 4.0, uncode="0081"),
    GoodsProfile("pesticides", 0.005, ("3808911900",), ("DEU", "USA", "IND"), 7.0, documents=("S",)),
    GoodsProfile("scrap", 0.001, ("7204490000", "3915100000"), ("JPN", "USA"), 0.3),
    GoodsProfile("cigarettes", 0.002, ("2402200000",), ("KOR", "IDN"), 30.0),
    GoodsProfile("seeds", 0.003, ("1209919000",), ("NLD", "USA", "JPN"), 50.0),
    # ordinary manufactured goods: the bulk of real import trade, rarely hit by a rule
    GoodsProfile("auto_parts", 0.12, ("8708299000", "8708409900"), ("DEU", "JPN", "KOR", "USA"), 25.0),
    GoodsProfile("furniture", 0.08, ("9403600000", "9401610000"), ("VNM", "ITA", "MYS"), 4.0),
    GoodsProfile("plastic_articles", 0.08, ("3926909090",), ("KOR", "JPN", "DEU", "THA"), 5.0),
    GoodsProfile("steel_structures", 0.06, ("7308900000",), ("KOR", "JPN", "DEU"), 2.0),
    GoodsProfile("machine_parts", 0.10, ("8483409000", "8481804090"), ("DEU", "JPN", "USA", "ITA"), 30.0),
)

APPROVED_SITE = "QDQW-CR01"


@dataclass(frozen=True, slots=True)
class Sample:
    declaration: Declaration
    context: ScreeningContext
    profile: str


def _pick(rng: random.Random, table: tuple[tuple[Any, float], ...]) -> Any:
    x, acc = rng.random(), 0.0
    for value, weight in table:
        acc += weight
        if x < acc:
            return value
    return table[-1][0]


@dataclass(frozen=True, slots=True)
class PopulationMix:
    """What a generated population looks like. Shares are normalised; all fields are configurable."""

    credit: tuple[tuple[CreditClass, float], ...] = CREDIT_MIX
    goods: tuple[tuple[str, float], ...] = tuple((p.name, p.weight) for p in PROFILES)
    trade_modes: tuple[tuple[str, float], ...] = TRADE_MODES
    missing_document_rate: float = 0.03  # a required licence document is not attached (illustrative)
    weight_minor_error_rate: float = 0.015  # manifest / tally weight 3-7 % off (illustrative)
    weight_major_error_rate: float = 0.003  # 12-25 % off (illustrative)
    undervalued_rate: float = 0.07  # unit value 30-60 % below reference (illustrative)
    severely_undervalued_rate: float = 0.02  # 70-90 % below (illustrative)
    overvalued_rate: float = 0.01  # 2.1-3x the reference (illustrative)

    def tables(self) -> tuple[tuple[Any, ...], ...]:
        by_name = {p.name: p for p in PROFILES}
        return (
            _norm(self.credit),
            _norm(tuple((by_name[n], w) for n, w in self.goods)),
            _norm(self.trade_modes),
        )


def _norm(table: tuple[tuple[Any, float], ...]) -> tuple[tuple[Any, float], ...]:
    total = sum(w for _, w in table)
    return tuple((v, w / total) for v, w in table if w > 0)


DEFAULT_MIX = PopulationMix()

_MIX_KEYS = {
    "credit", "goods", "trade_modes", "missing_document_rate", "weight_minor_error_rate",
    "weight_major_error_rate", "undervalued_rate", "severely_undervalued_rate", "overvalued_rate",
}  # fmt: skip


def mix_from_mapping(data: dict[str, Any]) -> PopulationMix:
    """A mix from a mapping (a YAML file's content); keys not given keep the defaults. Raises ValueError
    naming every bad key or value."""
    errors: list[str] = []
    known = {p.name for p in PROFILES}
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key not in _MIX_KEYS:
            errors.append(f"{key}: unknown key (allowed: {', '.join(sorted(_MIX_KEYS))})")
        elif key in ("credit", "goods", "trade_modes"):
            if not isinstance(value, dict) or not value:
                errors.append(f"{key}: must be a mapping of name -> share")
                continue
            rows = []
            for name, share in value.items():
                if isinstance(share, bool) or not isinstance(share, int | float) or share < 0:
                    errors.append(f"{key}.{name}: {share!r} must be a share >= 0")
                elif key == "credit" and name not in {c.value for c in CreditClass}:
                    errors.append(f"credit.{name}: unknown credit class")
                elif key == "goods" and name not in known:
                    errors.append(f"goods.{name}: unknown goods profile (known: {', '.join(sorted(known))})")
                else:
                    rows.append((CreditClass(name) if key == "credit" else str(name), float(share)))
            if rows and sum(w for _, w in rows) <= 0:
                errors.append(f"{key}: shares sum to 0")
            kwargs[key] = tuple(rows)
        elif isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            errors.append(f"{key}: {value!r} must be a probability between 0 and 1")
        else:
            kwargs[key] = float(value)
    if errors:
        raise ValueError("; ".join(errors))
    return replace(DEFAULT_MIX, **kwargs)


def load_mix(path: str | Path) -> PopulationMix:
    """Read a population mix from YAML (see docs/risk.md § Population)."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError("a population file must be a mapping")
    return mix_from_mapping(data)


def generate(n: int, seed: int = 0, mix: PopulationMix = DEFAULT_MIX) -> Iterator[Sample]:
    """Yield `n` declarations (ids unique per seed) with trader, manifest and tally data."""
    rng = random.Random(seed)
    tables = mix.tables()
    for i in range(n):
        yield _one(rng, seed, i, mix, tables)


def _one(
    rng: random.Random, seed: int, i: int, mix: PopulationMix, tables: tuple[tuple[Any, ...], ...]
) -> Sample:
    credit_table, goods_table, mode_table = tables
    profile: GoodsProfile = _pick(rng, goods_table)
    credit: CreditClass = _pick(rng, credit_table)
    trade_mode: str = _pick(rng, mode_table)
    origin = rng.choice(profile.origins)
    mra = (
        origin
        if origin in ("JPN", "KOR") and credit is not CreditClass.DISCREDITED and rng.random() < 0.6
        else None
    )
    n_items = 1 if rng.random() < 0.7 else rng.randint(2, 3)
    items = []
    total_kg = 0.0
    for g in range(1, n_items + 1):
        units = (
            max(1, int(rng.lognormvariate(3, 1.2)))
            if profile.unit == "001"
            else round(rng.uniform(500, 25000))
        )
        kg = units * profile.kg_per_unit
        total_kg += kg
        x = rng.random()  # price behaviour: mostly near the reference, some under- and over-valued
        if x < mix.undervalued_rate:
            factor = rng.uniform(0.4, 0.7)
        elif x < mix.undervalued_rate + mix.severely_undervalued_rate:
            factor = rng.uniform(0.1, 0.3)
        elif x < mix.undervalued_rate + mix.severely_undervalued_rate + mix.overvalued_rate:
            factor = rng.uniform(2.1, 3.0)
        else:
            factor = rng.uniform(0.85, 1.2)
        price = Decimal(str(round(profile.usd_per_unit * factor, 4)))
        items.append(
            DecListItem(
                g_no=g,
                code_ts=rng.choice(profile.hs_codes),
                g_name=profile.name.replace("_", " "),
                g_qty=Decimal(units),
                g_unit=profile.unit,
                decl_price=price,
                decl_total=price * units,
                trade_curr="USD",
                origin_country=origin,
                goods_attr=profile.goods_attr,
                uncode=profile.uncode,
            )
        )
    docs = [d for d in profile.documents if rng.random() >= mix.missing_document_rate]
    gross = Decimal(str(round(total_kg * 1.05, 1)))
    manifest = gross * Decimal(str(_weight_factor(rng, mix)))
    tally = gross * Decimal(str(_weight_factor(rng, mix))) if rng.random() < 0.7 else None
    applies = profile.lab_listed and rng.random() < 0.4
    entry_id = f"4227{2025}{seed % 10}{i:09d}"
    head = DecHead(
        ie_flag="I",
        type="",
        entry_id=entry_id,
        custom_master="4227",
        ie_port="4218",
        d_date="20250616",
        trade_co_scc="91370200MA3C000000",
        bill_no=f"COSU{seed % 1000:03d}{i:08d}",
        traf_mode="2",
        trade_mode=trade_mode,
        trade_country="HKG" if profile.name == "phones" and rng.random() < 0.5 else origin,
        gross_wet=gross,
    )
    decl = Declaration(
        head=head,
        items=items,
        licences=[LicenseDocu(d, f"{d}{i:010d}") for d in docs],
        sign=DecSign(client_seq_no=f"C{seed % 1000:03d}{i:014d}"),
        tp_access=DecTpAccess(
            conditional_liftoff_apply="1",
            transition_site=APPROVED_SITE if rng.random() < 0.85 else "QDXX-9999",
        )
        if applies
        else None,
    )
    ctx = ScreeningContext(
        trader=TraderProfile(credit_class=credit, aeo_mra_country=mra),
        manifest_gross_kg=manifest,
        tally_gross_kg=tally,
    )
    return Sample(decl, ctx, profile.name)


def _weight_factor(rng: random.Random, mix: PopulationMix) -> float:
    x = rng.random()
    if x < mix.weight_major_error_rate:
        return round(rng.uniform(0.75, 0.88), 4)
    if x < mix.weight_major_error_rate + mix.weight_minor_error_rate:
        return round(rng.uniform(0.93, 0.97), 4)
    return round(rng.uniform(0.995, 1.005), 4)


# ---- synthetic rules for scale tests -----------------------------------------------------------

_SYNTH_COUNTRIES = (
    "AUS",
    "BRA",
    "CHL",
    "DEU",
    "FRA",
    "IDN",
    "IND",
    "JPN",
    "KOR",
    "MYS",
    "NZL",
    "RUS",
    "THA",
    "USA",
    "VNM",
    "ZAF",
    "PER",
    "ARG",
    "ESP",
    "ITA",
)


# Credit adjustments carried by a third of the synthetic rules (so benchmarks measure their cost).
_SYNTH_CREDIT: dict[int, dict[str, Any]] = {
    1: {
        "aeo": {"rate": 0.05},
        "certified": {"rate": 0.3, "outcome": "machine_scan_first", "checks": ["non_intrusive_scan"]},
        "discredited": {"outcome": "port_inspection", "checks": ["physical_examination"]},
    },
    2: {"aeo": {"rate": 0.05}, "discredited": {"outcome": "lab_test_hold", "checks": ["sampling_for_lab"]}},
}


def synthetic_rules(n: int, seed: int = 0, id_prefix: str = "SYN") -> list[dict[str, Any]]:
    """`n` rule entries in rule-file form (dicts), shaped like real selectivity criteria: each keys on an
    HS heading or subheading spread over the tariff, narrowed by origin, trader credit, valuation or weight.
    Checks/categories referenced exist in the shipped catalogue."""
    rng = random.Random(seed)
    credit_rng = random.Random(seed + 1)
    out = []
    stage1 = ("machine_scan_first", "port_inspection", "destination_inspection")
    stage2 = ("documents_required", "lab_test_hold", "release_first_test_later")
    for k in range(n):
        stage = 1 if rng.random() < 0.6 else 2
        chapter = rng.randint(1, 97)
        heading = f"{chapter:02d}{rng.randint(1, 20):02d}"
        prefix = heading if rng.random() < 0.5 else f"{heading}{rng.randint(1, 9)}0"
        when: dict[str, Any] = {"hs_prefix": [prefix]}
        x = rng.random()
        if x < 0.4:
            when["origin_country"] = rng.sample(_SYNTH_COUNTRIES, rng.randint(1, 3))
        elif x < 0.55:
            when["credit_class"] = ["general", "discredited"]
        elif x < 0.7:
            when["price_below_reference_pct"] = rng.choice([20, 30, 50])
        elif x < 0.8:
            when["weight_discrepancy_pct"] = rng.choice([3, 5, 10])
        outcome = rng.choice(stage1 if stage == 1 else stage2)
        check = {
            "machine_scan_first": "non_intrusive_scan",
            "port_inspection": "physical_examination",
            "destination_inspection": "physical_examination",
            "documents_required": "document_review",
            "lab_test_hold": "sampling_for_lab",
            "release_first_test_later": "sampling_for_lab",
        }[outcome]
        rule: dict[str, Any] = {
            "id": f"{id_prefix}-{k:05d}",
            "version": 1,
            "stage": stage,
            "priority": rng.randint(1, 99),
            "reason": f"Synthetic selectivity criterion {k}: HS {prefix} risk profile.",
            "when": when,
            "action": {"outcome": outcome, "checks": [check]},
        }
        if credit_rng.random() < 1 / 3:  # a separate stream: the rules themselves do not change
            rule["credit"] = _SYNTH_CREDIT[stage]
        out.append(rule)
    return out
