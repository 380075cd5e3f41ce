"""Aggregates of the clearance: a Declaration, and a Consignment (one bill of lading) with its
Containers. Their methods are the only place a state changes: each checks the transition table
(`states`), raises IllegalTransition otherwise, and collects the domain events (`events`) that the
workflow handles once it has written the aggregate back. No I/O; the time comes from the caller."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hub.services.clearance.domain import events
from hub.services.clearance.domain.states import (
    CONSIGNMENT_ALLOWED,
    CONSIGNMENT_INITIAL,
    CONTAINER_ALLOWED,
    DECLARATION_ALLOWED,
    DECLARATION_INITIAL,
    ConsignmentStatus,
    ContainerState,
    DeclarationState,
)

# Reasons are kept on the declaration for these states (why held / rejected / refused).
GATED_OUT_UNRELEASED = "gated_out_unreleased"  # discrepancy kind (clr_discrepancy.kind, 24 chars)
_REASONED = (DeclarationState.HELD, DeclarationState.REJECTED, DeclarationState.REFUSED)


class IllegalTransition(Exception):
    def __init__(self, what: str, key: str, source: str, target: str) -> None:
        super().__init__(f"{what} {key}: {source} -> {target} is not an allowed transition")
        self.what, self.key, self.source, self.target = what, key, source, target


@dataclass
class Aggregate:
    events: list[events.Event] = field(default_factory=list, init=False, repr=False, compare=False)

    def pull_events(self) -> list[events.Event]:
        out, self.events = self.events, []
        return out


@dataclass
class Declaration(Aggregate):
    id: str
    kind: str  # summary / complete
    bill_no: str
    state: DeclarationState = DECLARATION_INITIAL
    reasons: list[str] = field(default_factory=list)
    entry_id: str | None = None
    late: bool = False
    released_at: datetime | None = None
    cleared_at: datetime | None = None
    updated_at: datetime | None = None

    def can(self, target: DeclarationState) -> bool:
        return (self.state, target) in DECLARATION_ALLOWED

    def _change(self, target: DeclarationState, reason: str, at: datetime, audited: bool = True) -> None:
        """The one place a declaration's state changes."""
        if not self.can(target):
            raise IllegalTransition("declaration", self.id, self.state, target)
        source, self.state, self.updated_at = self.state, target, at
        if target in _REASONED:
            self.reasons = [*self.reasons, reason]
        self.events.append(events.DeclarationStateChanged(self.id, source, target, reason, audited))

    # --- the steps, named as the flow names them ---
    def hold(self, reason: str, at: datetime) -> None:
        self._change(DeclarationState.HELD, reason, at)

    def resume(self, at: datetime) -> None:
        """A held summary is applied again once its manifest arrived."""
        self._change(DeclarationState.RECEIVED, "manifest arrived", at, audited=False)

    def submit(self, stage: int, at: datetime) -> None:
        self._change(DeclarationState.SUBMITTED, f"screened (stage {stage}) and sent to customs", at)

    def reject(self, reason: str, at: datetime) -> None:
        self._change(DeclarationState.REJECTED, reason, at)

    def refuse(self, reason: str, at: datetime) -> None:
        self._change(DeclarationState.REFUSED, reason, at)

    def register(self, at: datetime, reason: str | None = None) -> None:
        self._change(DeclarationState.REGISTERED, reason or f"customs registered EntryId {self.entry_id}", at)

    def select_for_inspection(self, reason: str, at: datetime) -> None:
        self._change(DeclarationState.INSPECTION, reason, at)

    def inspection_passed(self, at: datetime) -> None:
        if self.state == DeclarationState.INSPECTION:
            self._change(DeclarationState.REGISTERED, "inspection done", at)

    def order_inspection(
        self, by: str, instruction: str, location: str | None, stage: int, needs_result: bool
    ) -> None:
        """An inspection (or stage-2 hold) instruction: no state change, an event for the notices."""
        self.events.append(
            events.InspectionOrdered(self.id, self.bill_no, by, instruction, location, stage, needs_result)
        )

    def release(self, release_type: str, containers: Iterable[str], at: datetime) -> None:
        self.released_at = at
        self._change(DeclarationState.RELEASED, f"release {release_type}", at)
        self.events.append(events.Released(self.id, self.bill_no, release_type, tuple(containers), at))

    def clear(self, reason: str, at: datetime) -> None:
        self._change(DeclarationState.CLEARED, reason, at)
        self.cleared_at = at

    def mark_late(self, at: datetime, due: datetime | None, reason: str | None, overdue: bool) -> bool:
        """Late is a flag, not a state: a late declaration goes on through its states."""
        if self.late:
            return False
        self.late, self.updated_at = True, at
        if reason:
            self.reasons = [*self.reasons, reason]
        self.events.append(events.Late(self.id, self.bill_no, due, overdue))
        return True


def release_blockers(
    decl: Declaration,
    outcome: str | None,
    releasable: Iterable[str],
    inspection: dict[str, Any] | None,
    containers: Iterable[Container],
) -> list[str]:
    """Why a summary declaration cannot be released yet (empty: it can)."""
    listed = [c for c in containers if c.listed]
    checks = [
        (decl.kind == "summary", "not a summary declaration"),
        (decl.state == DeclarationState.REGISTERED, f"state {decl.state}, not registered"),
        (bool(decl.entry_id), "no EntryId from customs"),
        (outcome is not None, "not screened"),
        (outcome in set(releasable), f"stage 1 outcome {outcome} does not release"),
        (
            not (inspection or {}).get("needs_result") or (inspection or {}).get("result") == "PASSED",
            "inspection result pending",
        ),
        (bool(listed), "no listed container"),
        (all(c.state != ContainerState.AWAITED for c in listed), "listed containers not arrived"),
    ]
    return [why for ok, why in checks if not ok]


@dataclass
class Container:
    container_no: str
    listed: bool = False
    arrived_at: datetime | None = None
    released_at: datetime | None = None
    gated_out_at: datetime | None = None

    @property
    def state(self) -> ContainerState:
        if self.gated_out_at is not None:
            return ContainerState.GATED_OUT
        if self.released_at is not None:
            return ContainerState.RELEASED
        return ContainerState.ARRIVED if self.arrived_at is not None else ContainerState.AWAITED

    def _check(self, target: ContainerState, bill: str) -> None:
        if (self.state, target) not in CONTAINER_ALLOWED:
            raise IllegalTransition("container", f"{bill}/{self.container_no}", self.state, target)


@dataclass
class Consignment(Aggregate):
    bill_no: str
    status: ConsignmentStatus = CONSIGNMENT_INITIAL
    containers: dict[str, Container] = field(default_factory=dict)
    discrepancies: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    updated_at: datetime | None = None

    def _change(self, target: ConsignmentStatus, at: datetime) -> None:
        """The one place a consignment's status changes."""
        if (self.status, target) not in CONSIGNMENT_ALLOWED:
            raise IllegalTransition("consignment", self.bill_no, self.status, target)
        source, self.status, self.updated_at = self.status, target, at
        self.events.append(events.ConsignmentStatusChanged(self.bill_no, source, target))

    def container(self, box: str) -> Container:
        return self.containers.setdefault(box, Container(box))

    def distribute(self, at: datetime) -> None:
        self._change(ConsignmentStatus.DISTRIBUTION, at)

    def arrive(self, boxes: Iterable[str], at: datetime) -> list[str]:
        """A counted arrival report: each box not seen before arrives (a repeated gate-in changes
        nothing) and a manifested bill becomes `arrived`. Returns the boxes that arrived now."""
        now_arrived = []
        for box in boxes:
            c = self.container(box)
            if c.state != ContainerState.AWAITED:
                continue
            c._check(ContainerState.ARRIVED, self.bill_no)
            c.arrived_at = at
            now_arrived.append(box)
        if self.status == ConsignmentStatus.MANIFESTED:
            self._change(ConsignmentStatus.ARRIVED, at)
        return now_arrived

    def release(self, boxes: Iterable[str], at: datetime) -> None:
        for box in boxes:
            c = self.container(box)
            if c.state != ContainerState.GATED_OUT:  # one that left unreleased is released on paper only
                c._check(ContainerState.RELEASED, self.bill_no)
            c.released_at = c.released_at or at
            self.events.append(events.ContainerReleased(self.bill_no, box))
        self._change(ConsignmentStatus.RELEASED, at)

    def gate_out(self, box: str, at: datetime, site: str) -> bool:
        """A gate-out report for one box: recorded once (a repeated report changes nothing; False).
        A box that was not released when it left is a discrepancy customs must hear of."""
        c = self.container(box)
        if c.state == ContainerState.GATED_OUT:
            return False
        before = c.state
        c._check(ContainerState.GATED_OUT, self.bill_no)
        c.gated_out_at, self.updated_at = at, at
        if before != ContainerState.RELEASED:
            detail = {"container": box, "site": site, "gated_out_at": at.isoformat(), "state": before.value}
            self.report_discrepancy(GATED_OUT_UNRELEASED, detail)
        return True

    def report_discrepancy(self, kind: str, detail: dict[str, Any]) -> bool:
        """Each discrepancy is reported once (same kind, same detail)."""
        if (kind, detail) in self.discrepancies:
            return False
        self.discrepancies.append((kind, detail))
        self.events.append(events.DiscrepancyFound(self.bill_no, kind, dict(detail)))
        return True
