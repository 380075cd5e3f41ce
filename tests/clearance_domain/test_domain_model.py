"""The clearance domain model on its own: no database, no bus, no clock (times are passed in)."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.services.clearance.domain import events
from hub.services.clearance.domain.model import (
    Consignment,
    Container,
    Declaration,
    IllegalTransition,
    release_blockers,
)
from hub.services.clearance.domain.states import (
    CONSIGNMENT_ALLOWED,
    DECLARATION_ALLOWED,
    DECLARATION_TRANSITIONS,
    TERMINAL,
    ConsignmentStatus,
    ContainerState,
    DeclarationState,
)

D = DeclarationState
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
DOMAIN = Path(__file__).resolve().parents[2] / "hub" / "services" / "clearance" / "domain"


def summary(state: DeclarationState = D.RECEIVED, **kw: object) -> Declaration:
    return Declaration(id="D1", kind="summary", bill_no="B1", state=state, **kw)  # type: ignore[arg-type]


def test_the_happy_path_emits_one_event_per_step() -> None:
    d = summary()
    d.submit(1, T0)
    d.entry_id = "222220261000000001"
    d.register(T0)
    d.release("NORMAL", ["MSCU1234565"], T0 + timedelta(hours=1))
    d.clear("customs: 已结关", T0 + timedelta(days=2))
    assert d.state == D.CLEARED and d.released_at == T0 + timedelta(hours=1)
    assert d.cleared_at == T0 + timedelta(days=2)
    happened = d.pull_events()
    changes = [(e.source, e.target) for e in happened if isinstance(e, events.DeclarationStateChanged)]
    assert changes == [
        ("received", "submitted"),
        ("submitted", "registered"),
        ("registered", "released"),
        ("released", "cleared"),
    ]
    [released] = [e for e in happened if isinstance(e, events.Released)]
    assert released.containers == ("MSCU1234565",) and released.release_type == "NORMAL"
    assert d.pull_events() == []  # pulled once


def test_an_illegal_transition_raises_and_changes_nothing() -> None:
    d = summary(D.REFUSED, reasons=["stage 1"])
    with pytest.raises(IllegalTransition) as info:
        d.register(T0)
    assert (info.value.source, info.value.target) == ("refused", "registered")
    assert d.state == D.REFUSED and d.reasons == ["stage 1"] and d.pull_events() == []
    with pytest.raises(IllegalTransition):
        summary(D.SUBMITTED).release("NORMAL", [], T0)  # only a registered declaration is released


def test_reasons_are_kept_for_held_rejected_refused_only() -> None:
    d = summary()
    d.hold("waiting for the manifest", T0)
    d.resume(T0)
    d.submit(1, T0)
    d.reject("customs E: wrong HS code", T0)
    assert d.reasons == ["waiting for the manifest", "customs E: wrong HS code"]
    audited = [e.audited for e in d.pull_events() if isinstance(e, events.DeclarationStateChanged)]
    assert audited == [True, False, True, True]  # held -> received on unparking is not an audited step


def test_inspection_order_and_result() -> None:
    d = summary(D.REGISTERED)
    d.order_inspection("customs", "MANUAL", "PORT", 1, True)
    d.select_for_inspection("customs ordered an inspection", T0)
    d.inspection_passed(T0)
    assert d.state == D.REGISTERED
    d.inspection_passed(T0)  # no inspection open: nothing happens
    kinds = [type(e) for e in d.pull_events()]
    assert kinds == [events.InspectionOrdered, events.DeclarationStateChanged, events.DeclarationStateChanged]


def test_late_is_a_flag_marked_once() -> None:
    d = summary(D.RELEASED)
    assert d.mark_late(T0, T0 - timedelta(days=1), "overdue", overdue=True)
    assert not d.mark_late(T0, T0, "again", overdue=True)
    assert d.state == D.RELEASED and d.late and d.reasons == ["overdue"]
    [late] = d.pull_events()
    assert isinstance(late, events.Late) and late.overdue


def test_release_blockers_say_why() -> None:
    boxes = [Container("A", listed=True, arrived_at=T0), Container("B", listed=True)]
    d = summary(D.REGISTERED, entry_id="E1")
    releasable = ("release_on_arrival",)
    assert release_blockers(d, "release_on_arrival", releasable, None, boxes) == [
        "listed containers not arrived"
    ]
    boxes[1].arrived_at = T0
    assert release_blockers(d, "release_on_arrival", releasable, None, boxes) == []
    pending = {"needs_result": True, "result": "PENDING"}
    assert release_blockers(d, "release_on_arrival", releasable, pending, boxes) == [
        "inspection result pending"
    ]
    assert "stage 1 outcome refuse_entry does not release" in release_blockers(
        d, "refuse_entry", releasable, None, boxes
    )


def test_gate_out_once_and_unreleased_boxes_are_discrepancies() -> None:
    c = Consignment("B1", containers={"A": Container("A", listed=True), "B": Container("B", listed=True)})
    c.arrive(["A", "B"], T0)
    c.release(["A"], T0)
    c.pull_events()
    assert c.gate_out("A", T0 + timedelta(hours=1), "SITE")
    assert not c.gate_out("A", T0 + timedelta(hours=2), "SITE")  # the same report again
    assert c.containers["A"].gated_out_at == T0 + timedelta(hours=1)
    assert c.containers["A"].state == ContainerState.GATED_OUT and c.pull_events() == []
    assert c.gate_out("B", T0 + timedelta(hours=1), "SITE")  # left before its release
    (found,) = c.pull_events()
    assert isinstance(found, events.DiscrepancyFound) and found.kind == "gated_out_unreleased"
    assert (found.detail["container"], found.detail["state"]) == ("B", "arrived")
    c.release(["B"], T0 + timedelta(hours=3))  # the release that follows keeps the gate-out
    assert c.containers["B"].state == ContainerState.GATED_OUT and c.containers["B"].released_at


def test_consignment_arrival_release_and_discrepancies() -> None:
    c = Consignment("B1", containers={"A": Container("A", listed=True), "B": Container("B", listed=True)})
    assert c.arrive(["A"], T0) == ["A"] and c.status == ConsignmentStatus.ARRIVED
    assert c.arrive(["A"], T0 + timedelta(hours=1)) == []  # a repeated gate-in changes nothing
    assert c.containers["A"].arrived_at == T0
    with pytest.raises(IllegalTransition):
        c.release(["B"], T0)  # B never arrived
    c.arrive(["B"], T0)
    c.release(["A", "B"], T0)
    assert c.status == ConsignmentStatus.RELEASED
    assert {b.state for b in c.containers.values()} == {ContainerState.RELEASED}
    c.distribute(T0)  # an MT6102 is applied whenever it comes
    assert c.status == ConsignmentStatus.DISTRIBUTION
    assert c.report_discrepancy("weight", {"diff_pct": 5})
    assert not c.report_discrepancy("weight", {"diff_pct": 5})  # reported once
    found = [e for e in c.pull_events() if isinstance(e, events.DiscrepancyFound)]
    assert [(e.kind, e.detail) for e in found] == [("weight", {"diff_pct": 5})]


STEPS = {
    "hold": lambda d: d.hold("why", T0),
    "resume": lambda d: d.resume(T0),
    "submit": lambda d: d.submit(1, T0),
    "reject": lambda d: d.reject("why", T0),
    "refuse": lambda d: d.refuse("why", T0),
    "register": lambda d: d.register(T0),
    "inspect": lambda d: d.select_for_inspection("why", T0),
    "passed": lambda d: d.inspection_passed(T0),
    "release": lambda d: d.release("NORMAL", [], T0),
    "clear": lambda d: d.clear("why", T0),
}


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(sorted(STEPS)), max_size=25))
def test_any_sequence_of_steps_only_follows_the_table(steps: list[str]) -> None:
    """Whatever customs and the hub do, in any order: every change is an allowed pair of the table,
    each is reported by exactly one event, and nothing leaves a terminal state."""
    d = summary()
    for step in steps:
        before = d.state
        try:
            STEPS[step](d)
        except IllegalTransition as exc:
            assert (before, exc.target) not in DECLARATION_ALLOWED
            assert d.state == before and d.pull_events() == []
            continue
        changes = [e for e in d.pull_events() if isinstance(e, events.DeclarationStateChanged)]
        if d.state != before:
            assert before not in TERMINAL and (before, d.state) in DECLARATION_ALLOWED
            assert [(e.source, e.target) for e in changes] == [(before, d.state)]
        else:  # a self-loop (held again) is a change too; inspection_passed outside an inspection is not
            assert [(e.source, e.target) for e in changes] in ([], [(before, before)])


def test_tables_are_consistent() -> None:
    states = {s.value for s in D}
    assert {t.source for t in DECLARATION_TRANSITIONS} | {t.target for t in DECLARATION_TRANSITIONS} == states
    assert not any(src in TERMINAL for src, _ in DECLARATION_ALLOWED)  # terminal means terminal
    every = {s.value for s in ConsignmentStatus}
    assert all(a in every and b in every for a, b in CONSIGNMENT_ALLOWED)


def test_the_domain_package_does_no_io() -> None:
    """Only the standard library's pure modules and the domain package itself are imported."""
    allowed = {
        "__future__",
        "dataclasses",
        "enum",
        "datetime",
        "typing",
        "collections",
        "argparse",
        "sys",
        "pathlib",
    }
    for path in DOMAIN.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                ok = name.split(".")[0] in allowed or name.startswith("hub.services.clearance.domain")
                assert ok, f"{path.name} imports {name}"
    # diagram.py reads and writes the doc only when run as a command; the model modules do not import it
    for path in ("model.py", "states.py", "events.py"):
        assert "pathlib" not in (DOMAIN / path).read_text(encoding="utf-8")


def test_importing_the_model_loads_no_database_or_bus_library() -> None:
    import subprocess
    import sys

    probe = (
        "import sys, hub.services.clearance.domain.model, hub.services.clearance.domain.diagram; "
        "print(sorted(m for m in ('sqlalchemy', 'pika', 'fastapi', 'httpx', 'hub.db') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_every_domain_event_has_a_bus_entry() -> None:
    """A new event type without an entry in the message bus would be dropped silently (KeyError now)."""
    from hub.services.clearance import messagebus

    declared = {
        cls for cls in vars(events).values() if isinstance(cls, type) and issubclass(cls, events.Event)
    }
    assert declared - {events.Event} == set(messagebus.HANDLERS)
