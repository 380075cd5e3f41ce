"""Enrichment step 2 (docs/mappings.md): what the hub already knows, for a partner's EDIFACT message
that leaves a needed fact out. In this order, each fact taken from the first source that has it:

1. the manifest of the same bill (a bill the message names), else of the same vessel call (voyage
   number): its unloading location, and the customs office when that location carries its customs
   code (``CNTAO/4227``);
2. the sending party's registered site (``Party.terminal_code``), the same two facts;
3. the tally party: the sender itself when it is a tally company, else the one tally company
   assigned to the sending terminal's site (none when several are: the hub does not guess).

Only asked when a fact is missing (``messages.mapping.enrich`` calls the lookup lazily), so a
complete message costs no query.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.db.clearance_tables import ClrConsignment
from hub.db.session import Database
from hub.services import party_cache
from messages.models.manifest import Manifest


def _site_facts(site: str) -> dict[str, str]:
    if not site:
        return {}
    facts = {"unloading_location": site}
    code = site.rsplit("/", 1)[1] if "/" in site else ""
    if code.isdigit():
        facts["customs_office"] = code
    return facts


def _bills_and_voyage(model: Manifest) -> tuple[list[str], str]:
    declaration = model.declaration
    bills = [c.bill_no for c in declaration.consignments if c.bill_no]
    bills += [e.bill_no for e in declaration.transport_equipment if e.bill_no]
    voyage = declaration.conveyance.journey_id if declaration.conveyance else ""
    return bills, voyage


class KnownFacts:
    def __init__(self, db: Database) -> None:
        self.db = db

    def lookup_for(self, sender: str) -> Callable[[Manifest], Mapping[str, str]]:
        """The lookup enrichment calls with the mapped model of a message from ``sender``."""

        def lookup(model: Manifest) -> Mapping[str, str]:
            return self.facts(sender, model)

        return lookup

    def facts(self, sender: str, model: Manifest) -> dict[str, str]:
        bills, voyage = _bills_and_voyage(model)
        with self.db.sessions() as session:
            manifest_site = ""
            if bills:
                manifest_site = (
                    session.scalar(
                        select(ClrConsignment.terminal_code)
                        .where(ClrConsignment.bill_no.in_(bills), ClrConsignment.terminal_code != "")
                        .order_by(ClrConsignment.bill_no)
                        .limit(1)
                    )
                    or ""
                )
            if not manifest_site and voyage:
                manifest_site = (
                    session.scalar(
                        select(ClrConsignment.terminal_code)
                        .where(ClrConsignment.voyage_no == voyage, ClrConsignment.terminal_code != "")
                        .order_by(ClrConsignment.created_at)
                        .limit(1)
                    )
                    or ""
                )
            party = party_cache.party(session, sender)
            own_site = (party.terminal_code or "") if party is not None else ""
            tally = ""
            if party is not None and "tally" in (party.roles or []):
                tally = party.uscc
            elif own_site:
                tally = self._assigned_tally(session, own_site)
        facts = _site_facts(own_site)
        facts.update(_site_facts(manifest_site))  # the manifest of the bill comes first
        if tally:
            facts["tally_party"] = tally
        return facts

    @staticmethod
    def _assigned_tally(session: Session, site: str) -> str:
        tallies = [
            p.uscc
            for p in party_cache.cache_for(session).all(session)
            if "tally" in (p.roles or []) and site in (p.terminals or [])
        ]
        return tallies[0] if len(tallies) == 1 else ""
