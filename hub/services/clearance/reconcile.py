"""Reconciliation (manifest vs tally vs declaration): which discrepancies a consignment shows, per trigger.

Two triggers, each run at most once per consignment (the workflow stamps the consignment):
- `tally_complete`: every listed container has been tallied: totals of the manifest and of each summary
  declaration against the tally (gross weight within the tolerance, packages exactly);
- `discharge_grace`: the sweep, once the discharge grace period is over while listed containers are still
  untallied: each of them is `container_not_discharged`, and what *was* discharged is compared with
  the manifest's own figures for those containers (the declaration covers the whole bill, so it is
  compared only once everything is tallied).
Pure functions over rows already loaded: the workflow records the discrepancies and the risk signal."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from hub.db.clearance_tables import ClrConsignment, ClrContainer, ClrDeclaration

Trigger = Literal["tally_complete", "discharge_grace"]
Found = list[tuple[str, dict[str, Any]]]


def pct_diff(a: Decimal, b: Decimal) -> Decimal:
    base = max(abs(a), abs(b))
    return Decimal(0) if base == 0 else abs(a - b) * 100 / base


def _compare(
    found: Found,
    weights: Sequence[tuple[str, Any]],
    packages: Sequence[tuple[str, int | None]],
    tally_kg: Decimal,
    tally_pk: int,
    tolerance: Decimal,
) -> None:
    for source, kg in weights:
        if kg is not None and pct_diff(Decimal(kg), tally_kg) > tolerance:
            found.append(
                (
                    "weight",
                    {
                        "source": source,
                        "declared_kg": str(kg),
                        "tally_kg": str(tally_kg),
                        "difference_pct": str(round(pct_diff(Decimal(kg), tally_kg), 3)),
                        "tolerance_pct": str(tolerance),
                    },
                )
            )
    for source, pk in packages:
        if pk is not None and pk != tally_pk:
            found.append(("packages", {"source": source, "declared": pk, "tally": tally_pk}))


def tally_complete(
    consignment: ClrConsignment,
    containers: Sequence[ClrContainer],
    summaries: Sequence[ClrDeclaration],
    tolerance: Decimal,
) -> Found | None:
    """None while a listed container is untallied; else the discrepancies of the whole bill."""
    listed = [c for c in containers if c.listed]
    if not listed or any(c.tallied_at is None for c in listed):
        return None
    tally_kg = sum((Decimal(c.tally_gross_kg or 0) for c in containers), Decimal(0))
    tally_pk = sum(c.tally_packages or 0 for c in containers)
    found: Found = []
    weights: list[tuple[str, Any]] = [("manifest", consignment.gross_kg)]
    weights += [(f"declaration {d.client_seq_no}", d.gross_kg) for d in summaries]
    packages: list[tuple[str, int | None]] = [("manifest", consignment.package_qty)]
    packages += [(f"declaration {d.client_seq_no}", d.package_qty) for d in summaries]
    _compare(found, weights, packages, tally_kg, tally_pk, tolerance)
    return found


def discharge_grace(containers: Sequence[ClrContainer], grace_hours: float, tolerance: Decimal) -> Found:
    """Listed containers never discharged, and the discharged ones against their manifest figures."""
    listed = [c for c in containers if c.listed]
    missing = [c for c in listed if c.tallied_at is None]
    found: Found = [
        (
            "container_not_discharged",
            {
                "container": c.container_no,
                "manifest_packages": c.manifest_packages,
                "manifest_gross_kg": None if c.manifest_gross_kg is None else str(c.manifest_gross_kg),
                "grace_hours": grace_hours,
            },
        )
        for c in missing
    ]
    discharged = [c for c in listed if c.tallied_at is not None]
    if missing and discharged:
        source = f"manifest ({len(discharged)} discharged container(s))"
        weights: list[tuple[str, Any]] = []
        packages: list[tuple[str, int | None]] = []
        if all(c.manifest_gross_kg is not None for c in discharged):
            weights.append((source, sum((Decimal(c.manifest_gross_kg) for c in discharged), Decimal(0))))
        if all(c.manifest_packages is not None for c in discharged):
            packages.append((source, sum(c.manifest_packages or 0 for c in discharged)))
        tally_kg = sum((Decimal(c.tally_gross_kg or 0) for c in discharged), Decimal(0))
        tally_pk = sum(c.tally_packages or 0 for c in discharged)
        _compare(found, weights, packages, tally_kg, tally_pk, tolerance)
    return found


def grace_start(
    entry: datetime | None, first_voyage_tally: datetime | None, start_event: str
) -> datetime | None:
    """When the discharge grace period of a consignment starts (None: not yet known). `entry` is the
    manifest's arrival time of the conveyance; both aware."""
    if start_event == "conveyance_entry":
        return entry
    if first_voyage_tally is None:
        return None  # no tally on the whole voyage: nothing says the vessel has discharged at all
    return max(first_voyage_tally, entry) if entry is not None else first_voyage_tally


def grace_over(start: datetime | None, at: datetime, grace_hours: float) -> bool:
    return start is not None and at >= start + timedelta(hours=grace_hours)
