"""Domain events: what happened, collected by the aggregates and handled by the workflow after it
writes the aggregate back (audit entries, notices). Plain data, no behaviour."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class Event:
    """Base of every domain event."""


@dataclass(frozen=True)
class DeclarationStateChanged(Event):
    declaration_id: str
    source: str
    target: str
    reason: str
    audited: bool = True  # held -> received on unparking was never an audited step


@dataclass(frozen=True)
class InspectionOrdered(Event):
    declaration_id: str
    bill_no: str
    ordered_by: str  # hub / customs
    instruction: str
    location: str | None
    stage: int
    needs_result: bool


@dataclass(frozen=True)
class Released(Event):
    declaration_id: str
    bill_no: str
    release_type: str
    containers: tuple[str, ...]
    at: datetime


@dataclass(frozen=True)
class DiscrepancyFound(Event):
    bill_no: str
    kind: str  # weight / packages / unlisted_container / container_not_discharged
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Late(Event):
    declaration_id: str
    bill_no: str
    due_at: datetime | None
    overdue: bool  # True: the sweep found it overdue (a notice goes out); False: filed after the due date


@dataclass(frozen=True)
class ConsignmentStatusChanged(Event):
    bill_no: str
    source: str
    target: str


@dataclass(frozen=True)
class ContainerReleased(Event):
    bill_no: str
    container_no: str
