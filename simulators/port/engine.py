"""The terminal's world, pure logic (no I/O, no clock of its own: every call gets `now`).

`PortEngine.add_call(call, now)` plans a vessel call:
  manifest at `manifest_at`; per discharged container i (in listing order): tally at
  discharge_start + i * interval, gate-in arrival report 1 minute later. A distributed consignment
  (destination_site set): the distribution application (MT6102) right after its first tally, and each
  of its containers is reported arrived by the destination site `transit` after its tally (always
  MT3101: the destination is a supervised site, not an EDI terminal).
`due(now)` returns the messages whose time has come (built with simulators.port.builders) and moves
the containers on; `apply_notice(type, body, now)` applies what the hub sends back (ReleaseNotice,
InspectionNotice; others are counted); `gate_out(now)` gates released containers out at any hour,
records whether that was outside office hours (08:30-17:30 Mon-Fri) and queues each box's CODECO
gate-out report (BGM 36) from the site it gated in at, which the next `tick` sends to the hub."""

from __future__ import annotations

import heapq
import itertools
import secrets
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

from messages.errors import MessageError
from messages.models.notices import InspectionNotice, InspectionOutcome, ReleaseNotice
from messages.xml import decode
from simulators.common.clock import SHANGHAI
from simulators.port import builders

GATE_IN_AFTER_TALLY = timedelta(minutes=1)
OFFICE_OPENS, OFFICE_CLOSES = time(8, 30), time(17, 30)
FLOWS = ("manifest", "tally", "arrival", "distribution", "gate_out")
STATES = ("on_board", "discharged", "in_yard", "at_inspection", "released", "gated_out", "never_discharged")


class CallRejected(Exception):
    """The call cannot be planned; `problems` lists every reason as (location, message)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{loc}: {msg}" for loc, msg in problems))


class DuplicateCall(Exception):
    pass


# ----- what a tester asks for ---------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ContainerSpec:
    number: str
    size_type: str = "45R1"
    packages: int = 600
    gross_kg: Decimal = Decimal("12425.25")
    tally_packages: int | None = None  # None = as listed
    tally_gross_kg: Decimal | None = None
    discharged: bool = True  # False = listed on the manifest but never discharged


@dataclass(frozen=True, slots=True)
class ConsignmentSpec:
    bill_no: str
    containers: tuple[ContainerSpec, ...]
    goods: str = "笔记本电脑 LAPTOP COMPUTERS"
    hs_code: str = "847130"
    destination_site: str | None = None  # distributed cargo: the supervised site it moves to
    consignee: str | None = None  # the consignee's USCC on the manifest


@dataclass(frozen=True, slots=True)
class CallSpec:
    call_id: str
    vessel_name: str
    voyage_no: str
    arrival: datetime
    manifest_at: datetime
    discharge_start: datetime
    consignments: tuple[ConsignmentSpec, ...]
    imo: str | None = None
    manifest_format: str = "MT1101"  # or CUSCAR
    tally_format: str = "MT5101"  # or COARRI
    gate_format: str = "MT3101"  # or CODECO
    discharge_interval_seconds: float = 120.0
    loading_port: str = "KRPUS"


# ----- what happens -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PlanEvent:
    at: datetime
    seq: int
    kind: str  # manifest | tally | arrival | distribution (= the fault flow)
    call_id: str
    bill_no: str | None = None
    container: str | None = None
    site: str | None = None  # arrival: where the container gated in

    def to_json(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "kind": self.kind,
            "bill_no": self.bill_no,
            "container": self.container,
        }


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message to send to the hub, as the terminal or the carrier's agent."""

    flow: str
    message_type: str  # wire type: MT1101 / CUSCAR / MT5101 / COARRI / MT3101 / CODECO / MT6102
    party: str  # "terminal" | "carrier"
    sender_uscc: str
    body: bytes
    message_id: str  # Head/MessageID (BGM 1004 in EDIFACT): the hub deduplicates on it
    at: datetime
    call_id: str
    bill_no: str | None = None
    container: str | None = None


@dataclass(frozen=True, slots=True)
class Applied:
    """What a notice did: a description, and the containers it released."""

    summary: str
    released: tuple[str, ...] = ()


@dataclass(slots=True)
class Container:
    number: str
    bill_no: str
    call_id: str
    discharged: bool
    discharged_at: datetime | None = None
    gated_in_at: datetime | None = None
    gated_in_site: str | None = None
    inspection: str | None = None  # None | ordered | done
    inspection_outcome: str | None = None
    released_at: datetime | None = None
    release_type: str | None = None
    gated_out_at: datetime | None = None
    outside_office_hours: bool | None = None
    history: list[tuple[datetime, str]] = field(default_factory=list)

    @property
    def state(self) -> str:
        if not self.discharged:
            return "never_discharged"
        if self.gated_out_at:
            return "gated_out"
        if self.released_at and self.gated_in_at:
            return "released"
        if self.inspection == "ordered" and (self.gated_in_at or self.discharged_at):
            return "at_inspection"
        if self.gated_in_at:
            return "in_yard"
        return "discharged" if self.discharged_at else "on_board"

    def note(self, at: datetime, event: str) -> None:
        self.history.append((at, event))

    def to_json(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "bill_no": self.bill_no,
            "call_id": self.call_id,
            "state": self.state,
            "discharged_at": iso(self.discharged_at),
            "gated_in_at": iso(self.gated_in_at),
            "gated_in_site": self.gated_in_site,
            "inspection": self.inspection,
            "inspection_outcome": self.inspection_outcome,
            "released_at": iso(self.released_at),
            "release_type": self.release_type,
            "gated_out_at": iso(self.gated_out_at),
            "gated_out_outside_office_hours": self.outside_office_hours,
            "history": [[iso(at), event] for at, event in self.history],
        }


@dataclass(slots=True)
class Call:
    spec: CallSpec
    plan: list[PlanEvent]
    vessel: builders.Vessel
    bills: dict[str, builders.Bill]
    done: int = 0


def iso(when: datetime | None) -> str | None:
    return when.isoformat() if when else None


def outside_office_hours(when: datetime) -> bool:
    local = when.astimezone(SHANGHAI)
    return local.weekday() >= 5 or not (OFFICE_OPENS <= local.time() < OFFICE_CLOSES)


def iso6346_ok(number: str) -> bool:
    """Owner code (3 letters) + category (U/J/Z/R) + 6 digits + check digit (ISO 6346)."""
    if len(number) != 11 or not (number[:3].isalpha() and number[:3].isupper()):
        return False
    if number[3] not in "UJZR" or not number[4:].isdigit():
        return False
    values, v = {}, 10
    for letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZ":
        if v % 11 == 0:
            v += 1
        values[letter] = v
        v += 1
    total = sum((int(c) if c.isdigit() else values[c]) * 2**i for i, c in enumerate(number[:10]))
    return total % 11 % 10 == int(number[10])


class PortEngine:
    def __init__(
        self,
        terminal_code: str,
        terminal_uscc: str,
        carrier_uscc: str,
        *,
        transit: timedelta = timedelta(minutes=30),
        run_id: str | None = None,
    ) -> None:
        self.terminal_code = terminal_code
        self.uscc = {"terminal": terminal_uscc, "carrier": carrier_uscc}
        self.transit = transit
        # message references must stay unique across restarts of the simulator (the hub dedupes on them)
        self.run_id = run_id or secrets.token_hex(3).upper()
        self.calls: dict[str, Call] = {}
        self.containers: dict[str, Container] = {}
        self._by_bill: dict[str, list[str]] = {}
        self.notices: Counter[str] = Counter()
        self.ignored_notices = 0  # decodable, but about bills/containers this terminal does not hold
        self.errors: list[str] = []  # messages that could not be built (should never happen)
        self._pending: list[tuple[datetime, int, str, int]] = []  # (at, seq, call_id, plan index)
        self._pending_kinds: Counter[str] = Counter()  # what is still planned, per flow (checked every tick)
        self._to_gate_out: set[str] = set()
        self._gate_out_reports: list[Outgoing] = []  # built by gate_out, sent by the next tick
        self._seq = itertools.count()
        self._refs = itertools.count(1)
        self._lock = threading.RLock()

    # ----- planning -------------------------------------------------------------------------------
    def check(self, spec: CallSpec) -> list[tuple[str, str]]:
        """Cross-field problems the request schema cannot see (all of them)."""
        problems: list[tuple[str, str]] = []
        bills: dict[str, int] = {}
        boxes: dict[str, str] = {}
        for i, cons in enumerate(spec.consignments):
            where = f"consignments.{i}"
            if cons.bill_no in bills:
                problems.append((f"{where}.bill_no", f"bill {cons.bill_no} is listed twice in this call"))
            bills[cons.bill_no] = i
            if not cons.containers:
                problems.append((f"{where}.containers", "a consignment needs at least one container"))
            if cons.destination_site and cons.destination_site == self.terminal_code:
                problems.append(
                    (f"{where}.destination_site", "distribution to the terminal itself is not a distribution")
                )
            for j, box in enumerate(cons.containers):
                loc = f"{where}.containers.{j}.number"
                if not iso6346_ok(box.number):
                    problems.append(
                        (loc, f"{box.number!r} is not an ISO 6346 number with a valid check digit")
                    )
                if box.number in boxes:
                    problems.append(
                        (loc, f"container {box.number} is listed twice (also on {boxes[box.number]})")
                    )
                boxes[box.number] = cons.bill_no
                if box.number in self.containers:
                    other = self.containers[box.number]
                    if other.state not in ("gated_out", "never_discharged"):
                        problems.append(
                            (loc, f"container {box.number} is still in call {other.call_id} ({other.state})")
                        )
        for bill in bills:
            for call in self.calls.values():
                if bill in call.bills:
                    problems.append(
                        ("consignments", f"bill {bill} was already planned in call {call.spec.call_id}")
                    )
        if spec.manifest_format not in ("MT1101", "CUSCAR"):
            problems.append(("manifest_format", "MT1101 or CUSCAR"))
        if spec.tally_format not in ("MT5101", "COARRI"):
            problems.append(("tally_format", "MT5101 or COARRI"))
        if spec.gate_format not in ("MT3101", "CODECO"):
            problems.append(("gate_format", "MT3101 or CODECO"))
        if spec.discharge_interval_seconds <= 0:
            problems.append(("discharge_interval_seconds", "must be > 0"))
        return problems

    def add_call(self, spec: CallSpec) -> list[PlanEvent]:
        with self._lock:
            if spec.call_id in self.calls:
                raise DuplicateCall(f"vessel call {spec.call_id} exists already")
            problems = self.check(spec)
            if problems:
                raise CallRejected(problems)
            vessel = builders.Vessel(
                spec.vessel_name, spec.voyage_no, spec.imo, spec.arrival, spec.loading_port
            )
            bills = {c.bill_no: _bill(c) for c in spec.consignments}
            problems = self._build_problems(spec, vessel, bills)
            if problems:
                raise CallRejected(problems)
            plan = self._plan(spec)
            self.calls[spec.call_id] = Call(spec, plan, vessel, bills)
            for cons in spec.consignments:
                for box in cons.containers:
                    self.containers[box.number] = Container(
                        box.number, cons.bill_no, spec.call_id, box.discharged
                    )
                    self._by_bill.setdefault(cons.bill_no, []).append(box.number)
                    if not box.discharged:
                        self.containers[box.number].note(spec.discharge_start, "listed but never discharged")
            for index, event in enumerate(plan):
                heapq.heappush(self._pending, (event.at, event.seq, spec.call_id, index))
                self._pending_kinds[event.kind] += 1
            return plan

    def _build_problems(
        self, spec: CallSpec, vessel: builders.Vessel, bills: dict[str, builders.Bill]
    ) -> list[tuple[str, str]]:
        """Build the call's messages once now (not their timing) so a plan the schemas refuse is a 422
        today rather than a failed send tomorrow: the manifest covers every listed figure; tallies
        with their own figures, the first arrival and the distribution of each bill cover the rest."""
        problems: list[tuple[str, str]] = []
        check: dict[str, Any] = {"message_id": f"CN_CHECK_{self.run_id}", "at": spec.manifest_at}
        carrier, terminal = self.uscc["carrier"], self.uscc["terminal"]

        def attempt(where: str, wire: str, build: Callable[..., Any], *args: Any, **kw: Any) -> None:
            try:
                builders.render(build(*args, **kw, **check), wire)
            except MessageError as exc:
                issues = getattr(exc, "issues", None) or [exc]
                problems.extend((where, str(issue)) for issue in issues)

        attempt(
            "manifest",
            spec.manifest_format,
            builders.manifest,
            vessel,
            list(bills.values()),
            self.terminal_code,
            sender=carrier,
        )
        for i, cons in enumerate(spec.consignments):
            bill = bills[cons.bill_no]
            site = cons.destination_site or self.terminal_code
            for j, box in enumerate(bill.boxes):
                if j == 0 or (box.tally_packages, box.tally_gross_kg) != (box.packages, box.gross_kg):
                    attempt(
                        f"consignments.{i}.containers.{j} (tally)",
                        spec.tally_format,
                        builders.tally,
                        vessel,
                        bill.bill_no,
                        box,
                        self.terminal_code,
                        sender=terminal,
                    )
            if bill.boxes:
                wire = spec.gate_format if site == self.terminal_code else "MT3101"
                attempt(
                    f"consignments.{i} (arrival)",
                    wire,
                    builders.arrival,
                    vessel,
                    bill.bill_no,
                    bill.boxes[0],
                    site,
                    sender=terminal,
                )
            if cons.destination_site:
                attempt(
                    f"consignments.{i} (distribution)",
                    "MT6102",
                    builders.distribution,
                    vessel,
                    bill,
                    self.terminal_code,
                    site,
                    application_no="CHECK",
                    sender=carrier,
                )
        return problems

    def _plan(self, spec: CallSpec) -> list[PlanEvent]:
        events = [PlanEvent(spec.manifest_at, next(self._seq), "manifest", spec.call_id)]
        interval = timedelta(seconds=spec.discharge_interval_seconds)
        i = 0
        for cons in spec.consignments:
            first = True
            for box in cons.containers:
                if not box.discharged:
                    continue
                tallied = spec.discharge_start + i * interval
                i += 1
                events.append(
                    PlanEvent(tallied, next(self._seq), "tally", spec.call_id, cons.bill_no, box.number)
                )
                if cons.destination_site:
                    if first:  # the application follows the first discharge of the bill
                        events.append(
                            PlanEvent(tallied, next(self._seq), "distribution", spec.call_id, cons.bill_no)
                        )
                    events.append(
                        PlanEvent(
                            tallied + self.transit,
                            next(self._seq),
                            "arrival",
                            spec.call_id,
                            cons.bill_no,
                            box.number,
                            cons.destination_site,
                        )
                    )
                else:
                    events.append(
                        PlanEvent(
                            tallied + GATE_IN_AFTER_TALLY,
                            next(self._seq),
                            "arrival",
                            spec.call_id,
                            cons.bill_no,
                            box.number,
                            self.terminal_code,
                        )
                    )
                first = False
        return sorted(events, key=lambda e: (e.at, e.seq))

    # ----- time passes ----------------------------------------------------------------------------
    def due(self, now: datetime) -> list[Outgoing]:
        out: list[Outgoing] = []
        with self._lock:
            while self._pending and self._pending[0][0] <= now:
                _, _, call_id, index = heapq.heappop(self._pending)
                self._pending_kinds[self.calls[call_id].plan[index].kind] -= 1
                call = self.calls[call_id]
                call.done += 1
                try:
                    out.append(self._emit(call, call.plan[index]))
                except (MessageError, ValueError) as exc:  # checked at planning; kept visible, not fatal
                    event = call.plan[index]
                    self.errors.append(
                        f"{event.kind} {event.bill_no or call_id} {event.container or ''}: {exc}"
                    )
        return out

    def pending_flows(self) -> set[str]:
        with self._lock:
            return {kind for kind, n in self._pending_kinds.items() if n > 0}

    def next_due(self) -> datetime | None:
        with self._lock:
            return self._pending[0][0] if self._pending else None

    def _emit(self, call: Call, event: PlanEvent) -> Outgoing:
        spec, at = call.spec, event.at
        if event.kind == "manifest":
            ref = self._message_id("MT1101", "carrier")
            model = builders.manifest(
                call.vessel,
                list(call.bills.values()),
                self.terminal_code,
                message_id=ref,
                sender=self.uscc["carrier"],
                at=at,
            )
            body = builders.render(model, spec.manifest_format)
            return self._out(event, spec.manifest_format, "carrier", body, ref)
        assert event.bill_no is not None
        bill = call.bills[event.bill_no]
        if event.kind == "distribution":
            ref = self._message_id("MT6102", "carrier")
            destination = next(c.destination_site for c in spec.consignments if c.bill_no == bill.bill_no)
            assert destination is not None
            model = builders.distribution(
                call.vessel,
                bill,
                self.terminal_code,
                destination,
                application_no=f"FB{self.run_id}{next(self._refs):08d}",
                message_id=ref,
                sender=self.uscc["carrier"],
                at=at,
            )
            return self._out(event, "MT6102", "carrier", builders.render(model, "MT6102"), ref)
        box = next(b for b in bill.boxes if b.number == event.container)
        container = self.containers[box.number]
        if event.kind == "tally":
            ref = self._message_id("MT5101", "terminal")
            model = builders.tally(
                call.vessel,
                bill.bill_no,
                box,
                self.terminal_code,
                message_id=ref,
                sender=self.uscc["terminal"],
                at=at,
            )
            container.discharged_at = at
            container.note(at, f"discharged, tally {spec.tally_format} sent")
            return self._out(
                event, spec.tally_format, "terminal", builders.render(model, spec.tally_format), ref
            )
        # arrival: the terminal's gate-in, or the supervised site's arrival of distributed cargo
        site = event.site or self.terminal_code
        wire = spec.gate_format if site == self.terminal_code else "MT3101"
        ref = self._message_id("MT3101", "terminal")
        model = builders.arrival(
            call.vessel, bill.bill_no, box, site, message_id=ref, sender=self.uscc["terminal"], at=at
        )
        container.gated_in_at, container.gated_in_site = at, site
        container.note(at, f"gated in at {site}, arrival {wire} sent")
        if container.released_at and not container.gated_out_at:
            self._to_gate_out.add(container.number)  # released before it reached the yard
        return self._out(event, wire, "terminal", builders.render(model, wire), ref)

    def _out(self, event: PlanEvent, wire: str, party: str, body: bytes, ref: str) -> Outgoing:
        return Outgoing(
            event.kind,
            wire,
            party,
            self.uscc[party],
            body,
            ref,
            event.at,
            event.call_id,
            event.bill_no,
            event.container,
        )

    def _message_id(self, mt: str, party: str) -> str:
        return f"CN_{mt}_1p0_{self.uscc[party]}_{self.run_id}{next(self._refs):08d}"

    # ----- what the hub tells us ------------------------------------------------------------------
    def apply_notice(self, notice_type: str, body: bytes, now: datetime) -> Applied:
        """Apply one notice. Never raises on bad input: what cannot be decoded is counted."""
        with self._lock:
            if notice_type not in ("ReleaseNotice", "InspectionNotice"):
                self.notices[notice_type] += 1
                return Applied(f"counted {notice_type}")
            try:
                model = decode(body)
            except (MessageError, ValueError):
                self.notices["undecodable"] += 1
                return Applied("undecodable")
            if isinstance(model, ReleaseNotice):
                self.notices["ReleaseNotice"] += 1
                return self._release(model, now)
            if isinstance(model, InspectionNotice):
                self.notices["InspectionNotice"] += 1
                return self._inspection(model, now)
            self.notices["undecodable"] += 1  # declared as a notice but is something else
            return Applied("undecodable")

    def _boxes_of(self, bill_no: str, numbers: list[str]) -> list[Container]:
        if numbers:
            found = [self.containers.get(n) for n in numbers]
            return [c for c in found if c is not None and c.bill_no == bill_no]
        found = [self.containers[n] for n in self._by_bill.get(bill_no, ())]
        return [c for c in found if c.bill_no == bill_no]

    def _release(self, notice: ReleaseNotice, now: datetime) -> Applied:
        boxes = [c for c in self._boxes_of(notice.bill_no, notice.container_ids) if c.discharged]
        if not boxes:
            self.ignored_notices += 1
            return Applied(f"release of {notice.bill_no}: no container of ours")
        released = []
        for c in boxes:
            if c.released_at is not None:
                continue  # the same release again (e.g. the carrier's copy)
            c.released_at, c.release_type = now, notice.release_type.value
            c.note(now, f"released {notice.release_type.value} ({notice.notice_id})")
            released.append(c.number)
            if c.gated_in_at and not c.gated_out_at:
                self._to_gate_out.add(c.number)
        return Applied(f"released {len(released)} of {len(boxes)}", tuple(released))

    def _inspection(self, notice: InspectionNotice, now: datetime) -> Applied:
        boxes = [c for c in self._boxes_of(notice.bill_no, notice.container_ids) if c.discharged]
        if not boxes:
            self.ignored_notices += 1
            return Applied(f"inspection of {notice.bill_no}: no container of ours")
        pending = notice.outcome == InspectionOutcome.PENDING
        for c in boxes:
            if pending:
                if c.inspection is None:
                    c.inspection = "ordered"
                    c.note(now, f"to inspection: {notice.instruction.value} at {notice.location.value}")
            elif c.inspection_outcome != notice.outcome.value or c.inspection != "done":
                c.inspection, c.inspection_outcome = "done", notice.outcome.value
                c.note(now, f"inspection done: {notice.outcome.value}")
        return Applied(f"inspection {notice.outcome.value} for {len(boxes)}")

    def gate_out(self, now: datetime) -> list[str]:
        """Released containers in the yard leave on this tick, whatever the hour or the day."""
        with self._lock:
            gone = []
            for number in sorted(self._to_gate_out):
                c = self.containers[number]
                c.gated_out_at, c.outside_office_hours = now, outside_office_hours(now)
                c.note(now, "gated out" + (" outside office hours" if c.outside_office_hours else ""))
                gone.append(number)
                self._report_gate_out(c, now)
            self._to_gate_out.clear()
            return gone

    def _report_gate_out(self, c: Container, now: datetime) -> None:
        """The box's CODECO gate-out, as its gate-in: from the site it entered (terminal or site)."""
        site = c.gated_in_site or self.terminal_code
        ref = self._message_id("GATEOUT", "terminal")
        try:
            body = builders.gate_out(c.number, c.bill_no, site, ref, self.uscc["terminal"], now)
        except (MessageError, ValueError) as exc:  # kept visible, not fatal (as a plan's build error)
            self.errors.append(f"gate_out {c.bill_no} {c.number}: {exc}")
            return
        self._gate_out_reports.append(
            Outgoing(
                "gate_out",
                "CODECO",
                "terminal",
                self.uscc["terminal"],
                body,
                ref,
                now,
                c.call_id,
                c.bill_no,
                c.number,
            )
        )

    def tick(self, now: datetime) -> list[Outgoing]:
        out = self.due(now)
        self.gate_out(now)
        with self._lock:
            out += self._gate_out_reports
            self._gate_out_reports = []
        return out

    # ----- views ----------------------------------------------------------------------------------
    def container_states(self) -> Counter[str]:
        with self._lock:
            return Counter(c.state for c in self.containers.values())

    def container_list(self, call_id: str | None = None, bill_no: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [
                c.to_json()
                for c in self.containers.values()
                if (call_id is None or c.call_id == call_id) and (bill_no is None or c.bill_no == bill_no)
            ]

    def call_list(self) -> list[dict[str, Any]]:
        with self._lock:
            out = []
            for call in self.calls.values():
                states = Counter(c.state for c in self.containers.values() if c.call_id == call.spec.call_id)
                out.append(
                    {
                        "call_id": call.spec.call_id,
                        "vessel_name": call.spec.vessel_name,
                        "voyage_no": call.spec.voyage_no,
                        "arrival": call.spec.arrival.isoformat(),
                        "consignments": len(call.spec.consignments),
                        "events": len(call.plan),
                        "events_done": call.done,
                        "next_event_at": next((e.at.isoformat() for e in call.plan[call.done :]), None),
                        "containers": dict(states),
                        "complete": call.done == len(call.plan)
                        and all(s in ("gated_out", "never_discharged") for s in states.elements()),
                    }
                )
            return out

    def gated_out(self) -> tuple[int, int]:
        with self._lock:
            out = [c for c in self.containers.values() if c.gated_out_at]
            return len(out), sum(1 for c in out if c.outside_office_hours)


def _bill(cons: ConsignmentSpec) -> builders.Bill:
    return builders.Bill(
        cons.bill_no,
        cons.goods,
        cons.hs_code,
        cons.consignee,
        tuple(
            builders.Box(
                b.number,
                b.size_type,
                b.packages,
                b.gross_kg,
                b.packages if b.tally_packages is None else b.tally_packages,
                b.gross_kg if b.tally_gross_kg is None else b.tally_gross_kg,
            )
            for b in cons.containers
        ),
    )
