"""The hub's risk engine: one per hub, rules from HUB_RISK_RULES_DIR or the shipped set; trader
profiles come from the party table."""

from __future__ import annotations

import threading

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.db.models import Party
from hub.runtime import Hub
from messages.models.declaration import Declaration
from risk import RuleEngine, TraderProfile

_lock = threading.Lock()


def engine_for(hub: Hub) -> RuleEngine:
    """The hub's engine, built once (rules compiled once); reload() swaps rule sets in place."""
    with _lock:
        engine = getattr(hub, "risk_engine", None)
        if engine is None:
            engine = RuleEngine.from_directory(hub.settings.risk_rules_dir)
            hub.risk_engine = engine  # type: ignore[attr-defined]
        return engine


def trader_profile(session: Session, decl: Declaration) -> TraderProfile:
    """The importer's standing, looked up by the USCC on the declaration (general when unknown)."""
    uscc = decl.head.trade_co_scc or decl.head.owner_code_scc
    party = session.scalar(select(Party).where(Party.uscc == uscc)) if uscc else None
    if party is None:
        return TraderProfile()
    return TraderProfile(
        credit_class=party.credit_class, aeo_mra_country=party.aeo_mra_country, ftz=party.ftz
    )
