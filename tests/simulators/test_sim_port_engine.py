"""The port simulator's engine, pure: plan timing, the messages it builds (decoded back with the
messages/ codecs), notices moving containers through their states, gate-out at any hour (recorded
outside office hours), listed-but-never-discharged containers, distributed cargo, and plan checks."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from portsim_support import call_body, unique_bill

from messages.convert import convert
from messages.models.gate import GateOutReport
from messages.models.manifest import Manifest
from messages.models.notices import (
    InspectionInstruction,
    InspectionLocation,
    InspectionNotice,
    InspectionOutcome,
    ReleaseNotice,
)
from messages.xml import decode, encode
from simulators.common.clock import SHANGHAI
from simulators.port.engine import CallRejected, DuplicateCall, Outgoing, PortEngine, outside_office_hours
from simulators.port.schema import VesselCallIn

TERMINAL, PRT, BRK = "CNTAO/4227", "91370200M3C0PRT01B", "91370200M3C0BRK01N"
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)  # a Monday


def engine() -> PortEngine:
    return PortEngine(TERMINAL, PRT, BRK, run_id="TEST01")


def spec(call_id: str = "V1", **kw: object):  # type: ignore[no-untyped-def]
    body = call_body(call_id, discharge_start=T0.isoformat(), **kw)  # type: ignore[arg-type]
    return VesselCallIn.model_validate(body).to_spec()


def xml_of(out: Outgoing) -> Manifest:
    body = out.body if out.body.lstrip().startswith(b"<") else convert(out.body, to="xml")[0].content
    model = decode(body)
    assert isinstance(model, Manifest)
    return model


def release(bill: str, boxes: list[str] | None = None, at: datetime = T0) -> bytes:
    return encode(ReleaseNotice(f"REL-{bill}", bill, at, container_ids=boxes or []))


def inspection(bill: str, outcome: InspectionOutcome, boxes: list[str] | None = None) -> bytes:
    return encode(
        InspectionNotice(
            f"INSP-{bill}",
            bill,
            T0,
            InspectionLocation.PORT,
            InspectionInstruction.MACHINE,
            outcome=outcome,
            container_ids=boxes or [],
        )
    )


def test_plan_timing_manifest_then_tally_and_gate_in_per_container() -> None:
    e = engine()
    s = spec(interval=120)
    plan = e.add_call(s)
    assert plan[0].kind == "manifest" and plan[0].at == s.manifest_at and plan[0].bill_no is None
    boxes = [(c.bill_no, b.number) for c in s.consignments for b in c.containers]
    tallies = [p for p in plan if p.kind == "tally"]
    arrivals = [p for p in plan if p.kind == "arrival"]
    assert [(p.bill_no, p.container) for p in tallies] == boxes
    assert [p.at for p in tallies] == [T0 + timedelta(seconds=120 * i) for i in range(6)]
    assert {p.container: p.at for p in arrivals} == {
        p.container: p.at + timedelta(minutes=1) for p in tallies
    }
    assert [p.at for p in plan] == sorted(p.at for p in plan)
    assert plan[1].to_json() == {
        "at": T0.isoformat(),
        "kind": "tally",
        "bill_no": boxes[0][0],
        "container": boxes[0][1],
    }


def test_due_emits_in_time_order_and_moves_containers() -> None:
    e = engine()
    s = spec(consignments=1, containers=2)
    e.add_call(s)
    bill = s.consignments[0].bill_no
    first, second = (b.number for b in s.consignments[0].containers)
    assert e.due(s.manifest_at - timedelta(seconds=1)) == []
    (manifest,) = e.due(s.manifest_at)
    model = xml_of(manifest)
    assert (manifest.flow, manifest.party, manifest.sender_uscc) == ("manifest", "carrier", BRK)
    assert model.head.message_type == "MT1101" and model.declaration.unloading_location.id == TERMINAL
    cons = model.declaration.consignments[0]
    assert cons.bill_no == bill and cons.package_quantity == 1200 and cons.gross_mass == Decimal("24850.50")
    assert [i.equipment_ids for i in cons.items] == [[first], [second]]  # per-container goods lines
    assert e.containers[first].state == "on_board"

    (tally,) = e.due(T0)
    assert (tally.flow, tally.message_type, tally.container, tally.party) == (
        "tally",
        "MT5101",
        first,
        "terminal",
    )
    assert e.containers[first].state == "discharged" and e.containers[first].discharged_at == T0
    (gate,) = e.due(T0 + timedelta(minutes=1))
    report = xml_of(gate)
    assert report.head.message_type == "MT3101" and report.declaration.transport_equipment[0].bill_no == bill
    assert e.containers[first].state == "in_yard" and e.containers[first].gated_in_site == TERMINAL
    rest = e.due(T0 + timedelta(hours=1))
    assert [(o.flow, o.container) for o in rest] == [("tally", second), ("arrival", second)]
    assert e.due(T0 + timedelta(days=1)) == [] and e.pending_flows() == set()
    refs = [o.message_id for o in (manifest, tally, gate, *rest)]
    assert len(set(refs)) == 5 and all("TEST01" in r for r in refs)


def test_edifact_formats_are_what_the_call_asks_for() -> None:
    e = engine()
    s = spec(
        consignments=1, containers=1, manifest_format="CUSCAR", tally_format="COARRI", gate_format="CODECO"
    )
    e.add_call(s)
    outs = e.due(T0 + timedelta(hours=1))
    assert [o.message_type for o in outs] == ["CUSCAR", "COARRI", "CODECO"]
    assert all(o.body.startswith(b"UNA") for o in outs)
    assert [xml_of(o).head.message_type for o in outs] == ["MT1101", "MT5101", "MT3101"]
    assert [xml_of(o).head.message_id for o in outs] == [
        o.message_id for o in outs
    ]  # BGM keeps the reference


def test_notices_move_containers_through_inspection_release_and_gate_out() -> None:
    e = engine()
    s = spec(consignments=2, containers=2)
    e.add_call(s)
    e.tick(T0 + timedelta(hours=1))  # everything discharged and gated in
    bill, other = (c.bill_no for c in s.consignments)
    a, b = (x.number for x in s.consignments[0].containers)
    assert {c.state for c in e.containers.values()} == {"in_yard"}

    assert (
        "PENDING"
        in e.apply_notice("InspectionNotice", inspection(bill, InspectionOutcome.PENDING, [a]), T0).summary
    )
    assert e.containers[a].state == "at_inspection" and e.containers[b].state == "in_yard"
    e.apply_notice("InspectionNotice", inspection(bill, InspectionOutcome.PASSED, [a]), T0)
    assert (e.containers[a].inspection, e.containers[a].inspection_outcome) == ("done", "PASSED")
    assert e.containers[a].state == "in_yard"

    released_at = T0 + timedelta(hours=2)
    applied = e.apply_notice("ReleaseNotice", release(bill), released_at)  # no container list = whole bill
    assert sorted(applied.released) == sorted([a, b])
    assert e.containers[a].state == "released" and e.containers[a].released_at == released_at
    assert e.apply_notice("ReleaseNotice", release(bill), released_at).released == ()  # the carrier's copy
    assert e.gate_out(released_at + timedelta(seconds=1)) == sorted([a, b])
    assert e.containers[a].state == "gated_out" and e.containers[a].outside_office_hours is False
    assert e.gate_out(released_at + timedelta(seconds=2)) == []
    assert {e.containers[x.number].state for x in s.consignments[1].containers} == {"in_yard"}
    assert [h[1] for h in e.containers[a].history] == [
        "discharged, tally MT5101 sent",
        "gated in at CNTAO/4227, arrival MT3101 sent",
        "to inspection: MACHINE at PORT",
        "inspection done: PASSED",
        f"released NORMAL (REL-{bill})",
        "gated out",
    ]
    assert e.notices == {"InspectionNotice": 2, "ReleaseNotice": 2}
    assert other not in {c.bill_no for c in e.containers.values() if c.gated_out_at}


def test_other_undecodable_and_foreign_notices_are_counted_not_applied() -> None:
    e = engine()
    s = spec(consignments=1, containers=1)
    e.add_call(s)
    e.tick(T0 + timedelta(hours=1))
    assert e.apply_notice("MT9999", b"<anything/>", T0).summary == "counted MT9999"
    e.apply_notice("DiscrepancyNotice", b'{"bill_no": "X"}', T0)
    e.apply_notice("Rejection", b'{"problems": []}', T0)
    assert e.apply_notice("ReleaseNotice", b"<ReleaseNotice><trunc", T0).summary == "undecodable"
    assert e.apply_notice("ReleaseNotice", b'{"json": "not xml"}', T0).summary == "undecodable"
    assert e.apply_notice("ReleaseNotice", release(unique_bill()), T0).released == ()
    assert e.notices == {
        "MT9999": 1,
        "DiscrepancyNotice": 1,
        "Rejection": 1,
        "undecodable": 2,
        "ReleaseNotice": 1,
    }
    assert e.ignored_notices == 1
    assert {c.state for c in e.containers.values()} == {"in_yard"}


@pytest.mark.parametrize(
    ("local", "outside"),
    [
        ("2026-11-23T10:00:00", False),  # Monday morning
        ("2026-11-23T08:30:00", False),  # opening time is inside
        ("2026-11-23T08:29:59", True),
        ("2026-11-23T17:30:00", True),  # closing time is outside
        ("2026-11-24T02:15:00", True),  # Tuesday night
        ("2026-11-21T11:00:00", True),  # Saturday noon
        ("2026-11-22T03:00:00", True),  # Sunday 3 a.m.
    ],
)
def test_office_hours(local: str, outside: bool) -> None:
    assert outside_office_hours(datetime.fromisoformat(local).replace(tzinfo=SHANGHAI)) is outside


def test_gate_out_at_night_on_a_weekend_is_recorded_as_outside_office_hours() -> None:
    e = engine()
    s = spec(consignments=1, containers=2)
    e.add_call(s)
    e.tick(T0 + timedelta(hours=1))
    bill = s.consignments[0].bill_no
    sunday_night = datetime(2026, 11, 29, 3, 0, tzinfo=SHANGHAI)
    e.apply_notice("ReleaseNotice", release(bill, at=sunday_night), sunday_night)
    e.tick(sunday_night + timedelta(seconds=5))
    boxes = [e.containers[b.number] for b in s.consignments[0].containers]
    assert all(c.state == "gated_out" and c.outside_office_hours for c in boxes)
    assert boxes[0].gated_out_at == sunday_night + timedelta(seconds=5)
    assert e.gated_out() == (2, 2)
    assert boxes[0].history[-1][1] == "gated out outside office hours"


def test_each_box_gated_out_is_reported_to_the_hub_as_a_codeco_gate_out() -> None:
    e = engine()
    s = spec(consignments=1, containers=2)
    e.add_call(s)
    e.tick(T0 + timedelta(hours=1))
    bill = s.consignments[0].bill_no
    at = T0 + timedelta(hours=2, microseconds=1234)
    e.apply_notice("ReleaseNotice", release(bill), at)
    outs = [o for o in e.tick(at) if o.flow == "gate_out"]
    assert sorted(o.container or "" for o in outs) == sorted(b.number for b in s.consignments[0].containers)
    for out in outs:
        assert (out.message_type, out.party, out.sender_uscc) == ("CODECO", "terminal", PRT)
        assert b"BGM+36+" in out.body
        report = decode(convert(out.body, to="xml")[0].content)
        assert isinstance(report, GateOutReport) and report.report_id == out.message_id
        (gate,) = report.gate_outs
        assert (gate.container_id, gate.bill_no, gate.site_code) == (out.container, bill, TERMINAL)
        assert gate.gated_out_at == at.replace(microsecond=0)  # DTM+7 carries whole seconds
    assert [o for o in e.tick(at + timedelta(seconds=1)) if o.flow == "gate_out"] == []  # reported once


def test_release_before_gate_in_waits_for_the_yard() -> None:
    e = engine()
    s = spec(consignments=1, containers=1)
    e.add_call(s)
    e.tick(T0)  # manifest + tally, not yet gated in
    box = s.consignments[0].containers[0].number
    e.apply_notice("ReleaseNotice", release(s.consignments[0].bill_no), T0)
    e.tick(T0 + timedelta(seconds=30))
    assert e.containers[box].state == "discharged"  # released on paper, still under the crane
    e.tick(T0 + timedelta(minutes=1))
    e.tick(T0 + timedelta(minutes=1, seconds=1))
    assert e.containers[box].state == "gated_out"


def test_never_discharged_containers_are_listed_but_never_tallied_or_gated() -> None:
    e = engine()
    body = call_body("V9", consignments=1, containers=3, discharge_start=T0.isoformat())
    body["consignments"][0]["containers"][1]["discharged"] = False
    s = VesselCallIn.model_validate(body).to_spec()
    plan = e.add_call(s)
    kept = s.consignments[0].containers[1].number
    assert kept not in {p.container for p in plan}
    tallies = [p for p in plan if p.kind == "tally"]
    assert [p.at for p in tallies] == [T0, T0 + timedelta(seconds=120)]  # no gap for the missing box
    outs = e.tick(T0 + timedelta(hours=1))
    manifest = xml_of(outs[0])
    assert kept in [t.equipment_id for t in manifest.declaration.consignments[0].transport_equipment]
    assert e.containers[kept].state == "never_discharged"
    e.apply_notice("ReleaseNotice", release(s.consignments[0].bill_no), T0 + timedelta(hours=2))
    e.tick(T0 + timedelta(hours=2))
    assert e.containers[kept].state == "never_discharged" and e.containers[kept].gated_out_at is None
    assert e.container_states() == {"gated_out": 2, "never_discharged": 1}


def test_distributed_consignment_applies_after_its_first_tally_and_arrives_at_the_site() -> None:
    e = engine()
    body = call_body("V3", consignments=2, containers=2, discharge_start=T0.isoformat(), gate_format="CODECO")
    body["consignments"][1]["destination_site"] = "CNTAO/4258"
    s = VesselCallIn.model_validate(body).to_spec()
    plan = e.add_call(s)
    bill = s.consignments[1].bill_no
    kinds = [(p.kind, p.bill_no) for p in plan if p.bill_no == bill]
    assert kinds[:2] == [("tally", bill), ("distribution", bill)]
    first_tally = next(p for p in plan if p.kind == "tally" and p.bill_no == bill)
    assert next(p for p in plan if p.kind == "distribution").at == first_tally.at
    site_arrivals = [p for p in plan if p.kind == "arrival" and p.bill_no == bill]
    tallies = {p.container: p.at for p in plan if p.kind == "tally"}
    assert all(p.at == tallies[p.container] + timedelta(minutes=30) for p in site_arrivals)

    outs = e.tick(T0 + timedelta(hours=2))
    application = next(o for o in outs if o.flow == "distribution")
    mt6102 = xml_of(application)
    assert (application.message_type, application.party) == ("MT6102", "carrier")
    assert mt6102.declaration.destination_site.id == "CNTAO/4258"
    assert mt6102.declaration.origin_site.id == TERMINAL
    assert [c.bill_no for c in mt6102.declaration.consignments] == [bill]
    arrivals = [o for o in outs if o.flow == "arrival"]
    at_site = [o for o in arrivals if o.bill_no == bill]
    assert {o.message_type for o in at_site} == {"MT3101"}  # the supervised site sends XML
    assert {xml_of(o).declaration.unloading_location.id for o in at_site} == {"CNTAO/4258"}
    assert {o.message_type for o in arrivals if o.bill_no != bill} == {"CODECO"}
    assert outs.index(application) > outs.index(
        next(o for o in outs if o.flow == "tally" and o.bill_no == bill)
    )
    assert {e.containers[o.container].gated_in_site for o in at_site} == {"CNTAO/4258"}


def test_tally_figures_differing_from_the_manifest() -> None:
    e = engine()
    body = call_body("V4", consignments=1, containers=1, discharge_start=T0.isoformat())
    body["consignments"][0]["containers"][0] |= {"tally_packages": 590, "tally_gross_kg": "13100.5"}
    e.add_call(VesselCallIn.model_validate(body).to_spec())
    outs = e.tick(T0 + timedelta(hours=1))
    manifest, tally = xml_of(outs[0]), xml_of(outs[1])
    assert manifest.declaration.consignments[0].items[0].gross_mass == Decimal("12425.25")
    box = tally.declaration.consignments[0].transport_equipment[0]
    assert (box.package_quantity, box.gross_mass) == (590, Decimal("13100.5"))


def test_plan_checks_list_every_problem_and_refuse_duplicates() -> None:
    e = engine()
    s = spec("V1", consignments=1, containers=2)
    e.add_call(s)
    with pytest.raises(DuplicateCall):
        e.add_call(s)
    again = call_body("V2", consignments=2, containers=1, discharge_start=T0.isoformat())
    again["consignments"][0]["bill_no"] = s.consignments[0].bill_no  # planned in V1
    again["consignments"][1]["bill_no"] = s.consignments[0].bill_no  # and twice here
    again["consignments"][1]["containers"][0]["number"] = s.consignments[0].containers[0].number  # busy in V1
    again["consignments"][0]["containers"].append(dict(again["consignments"][0]["containers"][0]))  # twice
    again["consignments"][0]["destination_site"] = TERMINAL
    with pytest.raises(CallRejected) as caught:
        e.add_call(VesselCallIn.model_validate(again).to_spec())
    text = str(caught.value)
    assert "listed twice in this call" in text
    assert "is listed twice" in text and "still in call V1" in text
    assert "already planned in call V1" in text and "distribution to the terminal itself" in text
    assert len(caught.value.problems) >= 5
    assert "V2" not in e.calls


def test_a_plan_the_schemas_refuse_is_rejected_at_planning() -> None:
    e = engine()
    body = call_body("V5", consignments=1, containers=1, discharge_start=T0.isoformat())
    s = VesselCallIn.model_validate(body).to_spec()
    box = s.consignments[0].containers[0]
    huge = replace(box, tally_packages=10**9)  # the schema allows 8 digits; the request model too
    bad = replace(s, consignments=(replace(s.consignments[0], containers=(huge,)),))
    with pytest.raises(CallRejected) as caught:
        e.add_call(bad)
    assert any("(tally)" in loc for loc, _ in caught.value.problems), caught.value.problems
    assert e.calls == {}


def test_container_can_return_in_a_later_call_once_gated_out() -> None:
    e = engine()
    s = spec("V1", consignments=1, containers=1)
    e.add_call(s)
    e.tick(T0 + timedelta(hours=1))
    e.apply_notice("ReleaseNotice", release(s.consignments[0].bill_no), T0 + timedelta(hours=1))
    e.tick(T0 + timedelta(hours=1))
    body = call_body("V2", consignments=1, containers=1, discharge_start=(T0 + timedelta(days=7)).isoformat())
    body["consignments"][0]["containers"][0]["number"] = s.consignments[0].containers[0].number
    e.add_call(VesselCallIn.model_validate(body).to_spec())
    assert e.containers[s.consignments[0].containers[0].number].call_id == "V2"
