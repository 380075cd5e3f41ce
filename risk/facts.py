"""Derive, once per declaration, the facts that rule conditions test.

Conditions never read the declaration directly: they read these pre-computed, normalised values
(HS codes without dots, alpha-3 countries, categories, price deviation, weight discrepancy), so each
rule costs a few comparisons and every rule sees the same interpretation of the data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from messages.models.declaration import Declaration, DecListItem
from risk.catalog import Catalog
from risk.context import ScreeningContext
from risk.countries import normalize_country

_NON_DIGIT = re.compile(r"\D")


@dataclass(slots=True)
class ItemFacts:
    g_no: int
    hs: str
    origin: str
    categories: frozenset[str]
    un_number: str
    price_deviation_pct: float | None  # (declared - reference) / reference * 100, in USD
    missing_documents: frozenset[str]


@dataclass(slots=True)
class Facts:
    declaration_id: str
    items: list[ItemFacts]
    shipping_country: str
    trade_mode: str
    transport_mode: str
    ie_flag: str
    declaration_kind: str
    licence_codes: frozenset[str]
    weight_discrepancy_pct: float | None
    credit_class: str
    aeo_mra_country: str
    ftz: bool
    conditional_removal_applied: bool
    storage_site_approved: bool
    merged_inspection_applied: bool
    on_date: date


def declaration_identity(decl: Declaration) -> str:
    """EntryId / SeqNo / ClientSeqNo, else a fingerprint of bill, trader and goods (drafts have no id)."""
    if decl.declaration_id:
        return decl.declaration_id
    h = decl.head
    lines = ";".join(f"{i.g_no}:{i.code_ts}:{i.g_qty}" for i in decl.items)
    return f"draft:{h.bill_no}:{h.trade_co_scc or h.trade_code}:{lines}"


def extract_facts(decl: Declaration, ctx: ScreeningContext, catalog: Catalog, today: date) -> Facts:
    head = decl.head
    licence_codes = frozenset(lic.docu_code.strip() for lic in decl.licences if lic.docu_code.strip())
    items = [_item_facts(item, catalog, licence_codes) for item in decl.items]
    tp = decl.tp_access
    applied = bool(tp and tp.conditional_liftoff_apply.strip() == "1")
    sites = (
        ctx.approved_storage_sites
        if ctx.approved_storage_sites is not None
        else catalog.approved_storage_sites
    )
    site = tp.transition_site.strip() if tp else ""
    trader = ctx.trader
    return Facts(
        declaration_id=declaration_identity(decl),
        items=items,
        shipping_country=normalize_country(head.trade_country) if head.trade_country else "",
        trade_mode=head.trade_mode.strip(),
        transport_mode=head.traf_mode.strip(),
        ie_flag=head.ie_flag.strip().upper(),
        declaration_kind=decl.kind.value,
        licence_codes=licence_codes,
        weight_discrepancy_pct=weight_discrepancy_pct(
            head.gross_wet, ctx.manifest_gross_kg, ctx.tally_gross_kg
        ),
        credit_class=trader.credit_class.value,
        aeo_mra_country=trader.aeo_mra_country or "",
        ftz=trader.ftz,
        conditional_removal_applied=applied,
        storage_site_approved=bool(site) and site in sites,
        merged_inspection_applied=bool(tp and tp.port_dest_merge_check_apply.strip() == "1"),
        on_date=ctx.on_date or _declaration_date(decl) or today,
    )


def _item_facts(item: DecListItem, catalog: Catalog, licence_codes: frozenset[str]) -> ItemFacts:
    hs = _NON_DIGIT.sub("", item.code_ts)
    attrs = frozenset(a for a in re.split(r"[,;\s]+", item.goods_attr) if a)
    un = _NON_DIGIT.sub("", item.uncode)
    categories = catalog.categories_of(hs, attrs, bool(un))
    needed = catalog.required_documents(hs, categories)
    return ItemFacts(
        g_no=item.g_no,
        hs=hs,
        origin=normalize_country(item.origin_country) if item.origin_country else "",
        categories=categories,
        un_number=un,
        price_deviation_pct=_price_deviation(item, hs, catalog),
        missing_documents=frozenset(needed - licence_codes),
    )


def _price_deviation(item: DecListItem, hs: str, catalog: Catalog) -> float | None:
    ref = catalog.reference_price(hs)
    price = item.decl_price
    if price is None and item.decl_total is not None and item.g_qty:
        price = item.decl_total / item.g_qty
    if ref is None or price is None:
        return None
    if ref.unit and item.g_unit.strip() != ref.unit:
        return None  # declared per another unit: not comparable without a conversion factor
    declared_usd = catalog.to_usd(price, item.trade_curr or "USD")
    ref_usd = catalog.to_usd(ref.price, ref.currency)
    if declared_usd is None or not ref_usd:
        return None
    return float((declared_usd - ref_usd) / ref_usd * 100)


def weight_discrepancy_pct(*weights: Decimal | None) -> float | None:
    """Largest relative gap between the available gross weights (declaration, manifest, tally), in %
    of the largest; None when fewer than two are known."""
    known = [w for w in weights if w is not None and w > 0]
    if len(known) < 2:
        return None
    hi, lo = max(known), min(known)
    return float((hi - lo) / hi * 100)


def _declaration_date(decl: Declaration) -> date | None:
    for raw in (decl.head.d_date, decl.head.ie_date):
        digits = _NON_DIGIT.sub("", raw or "")[:8]
        if len(digits) == 8:
            try:
                return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
            except ValueError:
                continue
    return None
