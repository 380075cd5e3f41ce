"""Rows <-> aggregates. The workflow loads an aggregate from its rows, calls one domain method and
writes the aggregate back here; only the fields the domain owns are copied (state, reasons, flags,
timestamps), the rest of the row (screening, inspection, keys) stays the workflow's business."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hub.db.clearance_tables import ClrConsignment, ClrContainer, ClrDeclaration
from hub.services.clearance.domain.model import Consignment, Container, Declaration
from hub.services.clearance.domain.states import CONSIGNMENT_INITIAL, ConsignmentStatus, DeclarationState


def declaration(row: ClrDeclaration) -> Declaration:
    return Declaration(
        id=row.id,
        kind=row.kind,
        bill_no=row.bill_no,
        state=DeclarationState(row.state),
        reasons=list(row.reasons or []),
        entry_id=row.entry_id,
        late=bool(row.late),
        released_at=row.released_at,
        cleared_at=row.cleared_at,
        updated_at=row.updated_at,
    )


def save_declaration(row: ClrDeclaration, decl: Declaration) -> None:
    row.state = decl.state.value
    if decl.reasons != list(row.reasons or []):
        row.reasons = list(decl.reasons)
    row.late, row.released_at, row.cleared_at = decl.late, decl.released_at, decl.cleared_at
    row.updated_at = decl.updated_at or row.updated_at


def container(row: ClrContainer) -> Container:
    return Container(row.container_no, bool(row.listed), row.arrived_at, row.released_at, row.gated_out_at)


def consignment(
    row: ClrConsignment,
    containers: Iterable[ClrContainer] = (),
    discrepancies: Iterable[tuple[str, dict[str, Any]]] = (),
) -> Consignment:
    boxes = {c.container_no: container(c) for c in containers}
    return Consignment(
        bill_no=row.bill_no,
        status=ConsignmentStatus(row.status or CONSIGNMENT_INITIAL),
        containers=boxes,
        discrepancies=list(discrepancies),
        updated_at=row.updated_at,
    )


def save_consignment(row: ClrConsignment, cons: Consignment, containers: Iterable[ClrContainer] = ()) -> None:
    """Writes the status and the timestamps of the container rows given (the ones loaded)."""
    row.status, row.updated_at = cons.status.value, cons.updated_at or row.updated_at
    for c in containers:
        box = cons.containers.get(c.container_no)
        if box is not None:
            c.arrived_at, c.released_at, c.gated_out_at = box.arrived_at, box.released_at, box.gated_out_at
