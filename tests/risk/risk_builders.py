"""Builders for realistic import declarations and screening contexts used by the risk tests.

A uniquely named module (not conftest) so test files can import the builders directly."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from messages.models.declaration import DecHead, Declaration, DecListItem, DecSign, DecTpAccess, LicenseDocu
from risk import ScreeningContext, TraderProfile


def item(
    hs: str,
    origin: str,
    *,
    g_no: int = 1,
    qty: str = "1000",
    unit: str = "035",
    price: str | None = None,
    curr: str = "USD",
    attr: str = "",
    un: str = "",
    name: str = "goods",
) -> DecListItem:
    q = Decimal(qty)
    p = Decimal(price) if price is not None else None
    return DecListItem(
        g_no=g_no, code_ts=hs, g_name=name, g_qty=q, g_unit=unit, decl_price=p,
        decl_total=p * q if p is not None else None, trade_curr=curr, origin_country=origin,
        goods_attr=attr, uncode=un,
    )  # fmt: skip


def decl(
    *items: DecListItem,
    entry_id: str = "422720250000000001",
    shipped_from: str | None = None,
    licences: tuple[str, ...] = (),
    gross: str | None = "20000",
    conditional_removal_site: str | None = None,
    d_date: str = "20250616",
) -> Declaration:
    numbered = [replace(it, g_no=i) for i, it in enumerate(items, start=1)]
    return Declaration(
        head=DecHead(
            ie_flag="I", entry_id=entry_id, custom_master="4227", ie_port="4218", d_date=d_date,
            trade_co_scc="91370200MA3C000000", bill_no="COSU6201234560", traf_mode="2", trade_mode="0110",
            trade_country=shipped_from or (numbered[0].origin_country if numbered else ""),
            gross_wet=Decimal(gross) if gross else None,
        ),
        items=numbered,
        licences=[LicenseDocu(code, f"{code}-CERT-0001") for code in licences],
        sign=DecSign(client_seq_no="C00000000000000001"),
        tp_access=DecTpAccess(conditional_liftoff_apply="1", transition_site=conditional_removal_site)
        if conditional_removal_site is not None
        else None,
    )  # fmt: skip


def ctx(
    credit: str = "general",
    mra: str | None = None,
    manifest: str | None = None,
    tally: str | None = None,
) -> ScreeningContext:
    return ScreeningContext(
        trader=TraderProfile(credit_class=credit, aeo_mra_country=mra),
        manifest_gross_kg=Decimal(manifest) if manifest else None,
        tally_gross_kg=Decimal(tally) if tally else None,
    )
