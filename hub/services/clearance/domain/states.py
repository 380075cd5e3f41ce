"""States and allowed transitions, as data. The aggregates in `model` consult these tables and
nothing else; `diagram` draws them into docs/clearance.md, so the picture is the rule."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class DeclarationState(StrEnum):
    RECEIVED = "received"
    HELD = "held"
    SUBMITTED = "submitted"
    REGISTERED = "registered"
    INSPECTION = "inspection"
    RELEASED = "released"
    CLEARED = "cleared"
    REJECTED = "rejected"
    REFUSED = "refused"


class ConsignmentStatus(StrEnum):
    MANIFESTED = "manifested"
    DISTRIBUTION = "distribution"
    ARRIVED = "arrived"
    RELEASED = "released"


class ContainerState(StrEnum):
    """Not a column: derived from the container row's timestamps (arrived_at, released_at,
    gated_out_at)."""

    AWAITED = "awaited"
    ARRIVED = "arrived"
    RELEASED = "released"
    GATED_OUT = "gated_out"


@dataclass(frozen=True)
class Transition:
    source: str
    target: str
    trigger: str  # what causes it, as shown on the diagram


D = DeclarationState
# Open: customs may still answer (register, reject, select for inspection, clear).
OPEN = (D.RECEIVED, D.HELD, D.SUBMITTED, D.REGISTERED, D.INSPECTION)
TERMINAL = (D.CLEARED, D.REJECTED, D.REFUSED)

DECLARATION_INITIAL = D.RECEIVED
DECLARATION_TRANSITIONS: tuple[Transition, ...] = (
    Transition(D.RECEIVED, D.HELD, "summary before its manifest"),
    Transition(D.HELD, D.RECEIVED, "manifest arrived: applied again"),
    Transition(D.RECEIVED, D.SUBMITTED, "screened, sent to customs"),
    Transition(D.RECEIVED, D.REJECTED, "consignee differs from the manifest"),
    *(Transition(s, D.REFUSED, "stage 1: refuse entry") for s in (D.RECEIVED, D.SUBMITTED, D.REGISTERED)),
    *(Transition(s, D.REGISTERED, "customs registered (EntryId)") for s in (D.RECEIVED, D.SUBMITTED)),
    Transition(D.HELD, D.REGISTERED, "stage-2 hold lifted"),
    Transition(D.INSPECTION, D.REGISTERED, "inspection passed"),
    *(Transition(s, D.HELD, "anomaly / documents missing / stage 2 failed") for s in (*OPEN, D.RELEASED)),
    *(Transition(s, D.REJECTED, "customs rejected") for s in OPEN),
    *(Transition(s, D.INSPECTION, "customs ordered an inspection") for s in (*OPEN, D.RELEASED)),
    Transition(D.REGISTERED, D.RELEASED, "registered, stage 1 allows, inspected, all boxes arrived"),
    *(Transition(s, D.CLEARED, "customs cleared (R)") for s in (*OPEN, D.RELEASED)),
)

C = ConsignmentStatus
CONSIGNMENT_INITIAL = C.MANIFESTED
CONSIGNMENT_TRANSITIONS: tuple[Transition, ...] = (
    Transition(C.MANIFESTED, C.ARRIVED, "first counted arrival"),
    # an MT6102 is applied whenever it comes, also after the release (the goods move on)
    *(Transition(s, C.DISTRIBUTION, "distribution application (MT6102)") for s in C),
    *(Transition(s, C.RELEASED, "a declaration on the bill released") for s in C),
)

K = ContainerState
CONTAINER_TRANSITIONS: tuple[Transition, ...] = (
    Transition(K.AWAITED, K.ARRIVED, "arrival report (MT3101)"),
    Transition(K.ARRIVED, K.RELEASED, "release notice"),
    Transition(K.RELEASED, K.RELEASED, "released again (another declaration)"),
    Transition(K.RELEASED, K.GATED_OUT, "gate-out report (CODECO 36)"),
    # the gate is the terminal's: a box that leaves unreleased has left all the same, and is a discrepancy
    *(Transition(s, K.GATED_OUT, "gate-out before release: discrepancy") for s in (K.AWAITED, K.ARRIVED)),
)


def allowed(table: tuple[Transition, ...]) -> frozenset[tuple[str, str]]:
    return frozenset((t.source, t.target) for t in table)


DECLARATION_ALLOWED = allowed(DECLARATION_TRANSITIONS)
CONSIGNMENT_ALLOWED = allowed(CONSIGNMENT_TRANSITIONS)
CONTAINER_ALLOWED = allowed(CONTAINER_TRANSITIONS)
