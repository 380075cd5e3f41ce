"""Inputs to screening that are not on the declaration itself.

The hub fills these from its party table (trader profile), the manifest (舱单) and the tally report
(理货报告). Keeping them apart from the canonical Declaration lets the declaration model stay a pure
wire-format mirror.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from risk.countries import normalize_country
from risk.model import CreditClass


@dataclass(frozen=True, slots=True)
class TraderProfile:
    """The importer's (境内收发货人) standing with customs."""

    credit_class: CreditClass = CreditClass.GENERAL
    # AEO mutual-recognition economy under which the consignment's AEO status is recognised (e.g. JPN, KOR);
    # None when no mutual-recognition arrangement applies.
    aeo_mra_country: str | None = None
    ftz: bool = False  # registered in the free trade zone

    def __post_init__(self) -> None:
        object.__setattr__(self, "credit_class", CreditClass(self.credit_class))
        if self.aeo_mra_country:
            object.__setattr__(self, "aeo_mra_country", normalize_country(self.aeo_mra_country))


@dataclass(frozen=True, slots=True)
class ScreeningContext:
    trader: TraderProfile = field(default_factory=TraderProfile)
    manifest_gross_kg: Decimal | None = None  # gross weight on the manifest bill (舱单)
    tally_gross_kg: Decimal | None = None  # gross weight found by the tally (理货)
    on_date: date | None = None  # screening date for rule effective dates; default: declaration date, today
    # Approved storage sites for conditional removal; None = use the rule set's catalogue list.
    approved_storage_sites: frozenset[str] | None = None


DEFAULT_CONTEXT = ScreeningContext()
