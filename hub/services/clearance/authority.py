"""Authority checks made at intake: who may send a message about a bill (issue 12).

Kept out of workflow.py so each rule is one small function the intake hook calls."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.db.clearance_tables import ClrConsignment
from hub.db.models import Party
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


def site_problems(
    session: Session, message_type: str, sender: str, roles: frozenset[str], site: str
) -> list[Problem]:
    """A port operator reports arrivals and tallies only for the terminal it is registered for (its
    terminal code is the UnloadingLocation ID of its reports); a distribution destination it operates is
    registered as its terminal code too."""
    if message_type not in ("MT3101", "MT5101") or "port_operator" not in roles or roles & {"tally", "admin"}:
        return []
    party = session.scalar(select(Party).where(Party.uscc == sender))
    terminal = party.terminal_code if party is not None else None
    if terminal and site == terminal:
        return []
    return [
        Problem(
            "Declaration/UnloadingLocation/ID",
            f"site {site or '(none)'} is not the terminal this port operator is registered for "
            f"({terminal or 'none registered'}); report only for your own terminal",
        )
    ]
