"""Authority checks made at intake: who may send a message about a bill (issue 12).

Kept out of workflow.py so each rule is one small function the intake hook calls."""

from __future__ import annotations

from sqlalchemy.orm import Session

from hub.db.clearance_tables import ClrConsignment
from hub.services.intake import Problem

# Messages that create or change a consignment: only its owner (the first manifest's sender) may send them.
OWNER_TYPES = ("MT1101", "MT6102")


def ownership_problems(session: Session, message_type: str, sender: str, bills: list[str]) -> list[Problem]:
    """Every bill of the message that another party's manifest already owns."""
    if message_type not in OWNER_TYPES:
        return []
    problems = []
    for index, bill in enumerate(bills):
        row = session.get(ClrConsignment, bill)
        if row is not None and row.manifest_sender and row.manifest_sender != sender:
            problems.append(
                Problem(
                    f"Consignment[{index + 1}]/TransportContractDocument/ID",
                    f"bill of lading {bill} belongs to a manifest another party sent; "
                    "only that party may amend it or apply for its distribution",
                )
            )
    return problems
