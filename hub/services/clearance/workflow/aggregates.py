"""The one way the handlers change state: load the aggregate from its rows (repository), call one
domain method, write it back, hand its events to the message bus (audit, notices) in the same
transaction."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from hub.db import audit
from hub.db.clearance_tables import ClrConsignment, ClrDeclaration
from hub.services.clearance import messagebus, repository
from hub.services.clearance.domain import events, model

log = logging.getLogger(__name__)
ACTOR = "clearance"


def change_declaration(
    session: Session, row: ClrDeclaration, act: Callable[[model.Declaration], Any]
) -> bool:
    """Every declaration state change goes through here. An input that would make a transition the
    table does not allow (a customs answer for a declaration already closed) is logged and audited,
    not applied; False then."""
    decl = repository.declaration(row)
    try:
        act(decl)
    except model.IllegalTransition as exc:
        log.warning("%s", exc)
        audit.record(
            session,
            ACTOR,
            "declaration.transition.refused",
            "declaration",
            row.id,
            {"from": exc.source, "to": exc.target},
        )
        return False
    repository.save_declaration(row, decl)
    publish(session, decl.pull_events())
    return True


def change_consignment(row: ClrConsignment, act: Callable[[model.Consignment], Any]) -> None:
    """A change of the consignment alone (its containers not loaded)."""
    cons = repository.consignment(row)
    act(cons)
    repository.save_consignment(row, cons)


def record_instruction(session: Session, row: ClrDeclaration, inspection: dict[str, Any]) -> None:
    """An inspection or stage-2 hold instruction: kept on the row, an InspectionOrdered event."""
    row.inspection = inspection
    change_declaration(
        session,
        row,
        lambda d: d.order_inspection(
            str(inspection["ordered_by"]),
            str(inspection["instruction"]),
            inspection.get("location"),
            int(inspection.get("stage", 1)),
            bool(inspection["needs_result"]),
        ),
    )


def publish(session: Session, happened: list[events.Event]) -> None:
    messagebus.handle(session, happened)
