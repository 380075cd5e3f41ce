"""Reading the clearance rows and the facts the handlers take from inbound models: containers of a
bill, its summary declarations, manifest dates, per-container figures. No state changes here."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.clock import SHANGHAI
from hub.db.clearance_tables import ClrContainer, ClrDeclaration
from hub.db.session import batch_memo
from messages.models.manifest import Manifest

NOTICE_ID = re.compile(r"[0-9A-Z]{18}")


def parse_stamp(value: str) -> datetime | None:
    """yyyyMMdd[HHmm[ss]] (manifest dates, Shanghai time) -> aware datetime."""
    digits = "".join(ch for ch in value if ch.isdigit())
    for fmt in ("%Y%m%d%H%M%S", "%Y%m%d%H%M", "%Y%m%d"):
        width = len(datetime(2000, 1, 1).strftime(fmt))
        if len(digits) >= width:
            try:
                return datetime.strptime(digits[:width], fmt).replace(tzinfo=SHANGHAI)
            except ValueError:
                return None
    return None


def aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=SHANGHAI)


def container_figures(manifest_cons: Any) -> dict[str, tuple[int | None, Decimal | None]]:
    """Packages and gross kg per container from the manifest goods lines (lines name their boxes)."""
    out: dict[str, list[Any]] = {e.equipment_id: [None, None] for e in manifest_cons.transport_equipment}
    for item in manifest_cons.items:
        for box in item.equipment_ids:
            if box not in out or len(item.equipment_ids) != 1:
                continue
            packages, gross = out[box]
            if item.package_quantity is not None:
                out[box][0] = (packages or 0) + item.package_quantity
            if item.gross_mass is not None:
                out[box][1] = (gross or Decimal(0)) + item.gross_mass
    return {k: (v[0], v[1]) for k, v in out.items()}


def boxes(report: Manifest) -> dict[str, list[tuple[str, Any]]]:
    """bill -> [(container, equipment)] from a per-container report (declaration or bill level)."""
    out: dict[str, list[tuple[str, Any]]] = {}
    decl = report.declaration
    for e in decl.transport_equipment:
        bill = e.bill_no or (decl.consignments[0].bill_no if len(decl.consignments) == 1 else "")
        if bill:
            out.setdefault(bill, []).append((e.equipment_id, e))
    for cons in decl.consignments:
        out.setdefault(cons.bill_no, [])
        for e in cons.transport_equipment:
            out[cons.bill_no].append((e.equipment_id, e))
    return out


_KEPT_CONTAINERS = "workflow.bill_containers"


def _kept_containers(session: Session, bill: str) -> dict[str, ClrContainer] | None:
    """In a batch, the bill's container rows by number: read once, then kept up to date by
    container(), so later reads of the bill's boxes need neither a query nor the flush of the batch's
    pending rows that a query (or a primary-key miss) would set off. None outside a batch."""
    kept: dict[str, dict[str, ClrContainer]] | None = batch_memo(session, _KEPT_CONTAINERS)
    if kept is None:
        return None
    if bill not in kept:
        # Not flushed first: a box the batch added is only ever added through container(),
        # which keeps it here; the query finds the committed ones.
        with session.no_autoflush:
            found = session.scalars(select(ClrContainer).where(ClrContainer.bill_no == bill))
            kept[bill] = {c.container_no: c for c in found}
    return kept[bill]


def container(session: Session, bill: str, box: str) -> ClrContainer:
    """The container row, added (not listed) when a report names a box the manifest does not."""
    kept = _kept_containers(session, bill)
    c = kept.get(box) if kept is not None else session.get(ClrContainer, (bill, box))
    if c is None:
        c = ClrContainer(bill_no=bill, container_no=box, listed=False)
        session.add(c)
        if kept is not None:
            kept[box] = c
    return c


def containers(session: Session, bill: str) -> list[ClrContainer]:
    kept = _kept_containers(session, bill)
    if kept is not None:
        return sorted(kept.values(), key=lambda c: c.container_no)
    return list(
        session.scalars(
            select(ClrContainer).where(ClrContainer.bill_no == bill).order_by(ClrContainer.container_no)
        )
    )


def listed(session: Session, bill: str) -> list[str]:
    return [c.container_no for c in containers(session, bill) if c.listed]


def tally_total(session: Session, bill: str) -> Decimal | None:
    tallied = [c for c in containers(session, bill) if c.tally_gross_kg is not None]
    return sum((Decimal(c.tally_gross_kg) for c in tallied), Decimal(0)) if tallied else None


def summaries(session: Session, bill: str) -> list[ClrDeclaration]:
    """The bill's summary declarations, oldest first. A batch reads them once per bill: the workflow
    creates no declarations (intake does, committed before their messages reach a batch), and the
    rows themselves stay in the batch's identity map, so their changes are seen."""
    cached: dict[str, list[ClrDeclaration]] | None = batch_memo(session, "workflow.summaries")
    if cached is not None and bill in cached:
        return list(cached[bill])
    found = list(
        session.scalars(
            select(ClrDeclaration)
            .where(ClrDeclaration.bill_no == bill, ClrDeclaration.kind == "summary")
            .order_by(ClrDeclaration.created_at)
        )
    )
    if cached is not None:
        cached[bill] = found
    return list(found)


def notice_ids(row: ClrDeclaration) -> list[str]:
    """ClientSeqNo and EntryId as the notice schema allows them (18 characters, 0-9 A-Z)."""
    return [i for i in (row.client_seq_no, row.entry_id) if i and NOTICE_ID.fullmatch(i)]
