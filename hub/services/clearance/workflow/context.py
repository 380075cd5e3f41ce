"""What every message handler is given: the transaction (the unit of work: one commit for state,
audit and outbox rows) and the workflow's settings, risk engine and working calendar."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from hub.services.clearance.settings import ClearanceSettings
from refunds import WorkingCalendar
from risk import RuleEngine


@dataclass(frozen=True)
class Context:
    session: Session
    settings: ClearanceSettings
    engine: Callable[[], RuleEngine]
    calendar: Callable[[], WorkingCalendar]
    # the dispatcher: a manifest or a declaration applies the messages that were parked waiting for it
    apply: Callable[[Context, str, str, Any, str], None]
