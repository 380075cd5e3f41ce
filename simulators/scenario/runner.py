"""Run a scenario: hand the vessel calls to the port simulator, file declarations and refunds at their
simulated times, switch faults on, follow what happens, then check the expectations until they hold or
the settle time runs out. Talks to the hub and the simulators over HTTP only."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import httpx

from simulators.scenario import build
from simulators.scenario.endpoints import ControlError, Endpoints
from simulators.scenario.expect import Check, Checker, Facts
from simulators.scenario.model import Fault, Scenario

log = logging.getLogger(__name__)


class Reporter(Protocol):
    def event(self, at: datetime, who: str, text: str) -> None: ...

    def progress(self, done: int, total: int, at: datetime) -> None: ...


class QuietReporter:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def event(self, at: datetime, who: str, text: str) -> None:
        self.lines.append(f"{at:%a %m-%d %H:%M} {who}: {text}")

    def progress(self, done: int, total: int, at: datetime) -> None:
        return None


@dataclass(order=True)
class Action:
    at: datetime
    order: int
    label: str = field(compare=False)
    run: Callable[[], None] = field(compare=False)


@dataclass
class RunResult:
    scenario: str
    checks: list[Check]
    facts: Facts
    summary: dict[str, Any]
    errors: list[str]
    real_seconds: float

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    @property
    def ok(self) -> bool:
        return not self.failed and not self.errors


class ScenarioRunner:
    def __init__(
        self,
        scenario: Scenario,
        endpoints: Endpoints,
        *,
        names: build.Names | None = None,
        reporter: Reporter | None = None,
        real_timeout: float = 300.0,
        min_real_settle: float = 20.0,
    ) -> None:
        self.scenario = scenario
        self.ep = endpoints
        self.names = names or build.Names()
        self.reporter = reporter or QuietReporter()
        self.real_timeout = real_timeout
        self.min_real_settle = min_real_settle
        self.client = httpx.Client(timeout=20)
        self.facts = Facts(
            bills={
                c.ref: self.names.bill_no(build.consignment_index(scenario, c.ref), c)
                for _, c in scenario.consignments()
            },
            declarations={},
            refunds={},
        )
        self.errors: list[str] = []
        self._seen_states: dict[tuple[str, str], str] = {}
        self._port_seen: dict[str, int] = {}
        self._bill_seen: dict[tuple[str, str], int] = {}

    # ----- time ---------------------------------------------------------------------------------
    def _sleep_until(self, when: datetime, deadline: float) -> None:
        while (ahead := (when - self.ep.now()).total_seconds()) > 0:
            if time.monotonic() > deadline:
                raise TimeoutError(f"simulated time did not reach {when} within the real-time budget")
            time.sleep(min(0.5, max(0.01, ahead / self.scenario.speed)))
            self._follow()

    # ----- actions ------------------------------------------------------------------------------
    def _actions(self) -> list[Action]:
        s = self.scenario
        actions: list[Action] = []
        n = 0
        for vessel in s.vessels:
            body = build.vessel_call(s, vessel, self.names)
            # The port simulator schedules the call on its own clock: hand it over at the start.
            actions.append(
                Action(
                    s.start,
                    n,
                    f"vessel {vessel.name} {vessel.voyage} announced to the port",
                    lambda b=body: self._vessel_call(b),
                )
            )
            n += 1
            for cons in vessel.consignments:
                for kind in ("summary", "complete"):
                    declare = getattr(cons.declarations, kind)
                    if declare is not None:
                        actions.append(
                            Action(
                                s.at(declare.at),
                                n,
                                f"{cons.ref}: {kind} declaration",
                                lambda c=cons, k=kind: self._declare(c, k),
                            )
                        )
                        n += 1
        for refund in s.refunds:
            actions.append(
                Action(
                    s.at(refund.at), n, f"refund {refund.ref} filed", lambda r=refund: self._file_refund(r)
                )
            )
            n += 1
        for fault in s.faults:
            actions.append(
                Action(
                    s.at(fault.at),
                    n,
                    f"fault {fault.target}/{fault.flow}: {fault.kind}",
                    lambda f=fault: self._fault(f),
                )
            )
            n += 1
        return sorted(actions)

    def _port_done(self, vessel: Any) -> datetime:
        """When the port simulator sends its last message for `vessel` (the settle time counts from there)."""
        boxes = sum(c.containers for c in vessel.consignments)
        interval = self.scenario.at(vessel.discharge_interval) - self.scenario.start
        return max(
            self.scenario.at(vessel.manifest_at), self.scenario.at(vessel.discharge_start) + boxes * interval
        )

    def _vessel_call(self, body: dict[str, Any]) -> None:
        self.ep.service("port").call(self.client, "POST", "/control/vessel-calls", body)
        self.reporter.event(
            self.ep.now(),
            "port",
            f"vessel call {body['call_id']} scheduled: "
            f"{sum(len(c['containers']) for c in body['consignments'])} containers, "
            f"arrives {body['arrival'][:16]}",
        )

    def _post_hub(self, path: str, who: str, body: bytes) -> dict[str, Any] | None:
        response = self.client.post(
            f"{self.ep.hub_url.rstrip('/')}{path}",
            content=body,
            headers={"X-API-Key": self.ep.keys[who], "Content-Type": "application/xml"},
        )
        if response.status_code >= 300:
            self.errors.append(f"{path} as {who}: HTTP {response.status_code} {response.text[:500]}")
            return None
        return response.json()  # type: ignore[no-any-return]

    def _declare(self, cons: Any, kind: str) -> None:
        declare = getattr(cons.declarations, kind)
        entry_id = ""
        if kind == "complete":
            summary_id = self.facts.declarations.get((cons.ref, "summary"))
            if summary_id:
                view = self.client.get(
                    f"{self.ep.hub_url}/api/v1/declarations/{summary_id}",
                    headers={"X-API-Key": self.ep.keys[declare.by]},
                ).json()
                entry_id = view.get("entry_id") or ""
        body = build.declaration_xml(self.scenario, cons, kind, self.names, entry_id)
        receipt = self._post_hub("/api/v1/messages", declare.by, body)
        if receipt is not None:
            self.facts.declarations[(cons.ref, kind)] = receipt["declaration_id"]
            self.reporter.event(
                self.ep.now(),
                declare.by,
                f"{kind} declaration for {self.facts.bills[cons.ref]} filed, "
                f"receipt {receipt.get('receipt_id', '?')}",
            )

    def _file_refund(self, refund: Any) -> None:
        export_date = (self.scenario.start - timedelta(days=10)).date().isoformat()
        body = build.refund_xml(self.scenario, refund, self.names, export_date)
        receipt = self._post_hub("/api/v1/refunds", refund.exporter, body)
        if receipt is not None:
            self.facts.refunds[refund.ref] = {
                "application_no": receipt["application_no"],
                "uscc": self.scenario.parties[refund.exporter].uscc,
                "exporter": refund.exporter,
                "receipt": receipt,
            }
            self.reporter.event(
                self.ep.now(),
                refund.exporter,
                f"refund {receipt['application_no']} filed, deadline {receipt.get('deadline')}",
            )

    def _fault(self, fault: Fault) -> None:
        if fault.target == "broker":
            if self.ep.drop_broker_connections is None:
                self.reporter.event(
                    self.ep.now(), "faults", "broker connection drop skipped (in-process bus)"
                )
                return
            cut = self.ep.drop_broker_connections
            self.reporter.event(self.ep.now(), "faults", "cutting every hub connection to RabbitMQ")

            def drop() -> None:  # takes real seconds (rabbitmqctl): the timeline goes on meanwhile
                count = cut()
                self.reporter.event(self.ep.now(), "faults", f"cut {count} hub connection(s) to RabbitMQ")

            threading.Thread(target=drop, name="broker-cut", daemon=True).start()
            return
        svc = self.ep.service(fault.target)
        if fault.target == "port":
            body: dict[str, Any] = {
                "flow": fault.flow,
                "kind": fault.kind,
                "count": fault.count,
                "seconds": fault.seconds,
            }
            svc.call(self.client, "POST", "/control/faults", body)
        else:
            body = {
                "mode": fault.kind,
                "operation": fault.flow,
                "count": fault.count,
                "seconds": fault.seconds,
            }
            svc.call(self.client, "POST", "/control/failures", body)
        self.reporter.event(
            self.ep.now(),
            "faults",
            f"{fault.target}: {fault.kind} on {fault.flow} x{fault.count or 'until cleared'}",
        )

    # ----- following the hub ----------------------------------------------------------------------
    def _follow(self) -> None:
        """Report declaration state changes and port progress as they happen (the live timeline).

        Declarations are read before the bills but reported after them: a release read now implies
        every arrival it needed, which the bills read next then show, so `arrived 3/3` never comes
        after the `released` it caused."""
        try:
            changes: list[str] = []
            for (ref, kind), decl_id in list(self.facts.declarations.items()):
                cons = self.scenario.consignment(ref)[1]
                who = getattr(cons.declarations, kind).by
                r = self.client.get(
                    f"{self.ep.hub_url}/api/v1/declarations/{decl_id}",
                    headers={"X-API-Key": self.ep.keys[who]},
                )
                if r.status_code != 200:
                    continue
                state = r.json()["state"]
                if self._seen_states.get((ref, kind)) != state:
                    self._seen_states[(ref, kind)] = state
                    self.facts.history.setdefault((ref, kind), []).append(state)
                    extra = ""
                    outcome = (r.json().get("screening") or {}).get("outcome")
                    if state in ("submitted", "registered", "inspection") and outcome:
                        extra = f" (screening: {outcome})"
                    changes.append(f"{self.facts.bills[ref]} {kind}: {state}{extra}")
            self._follow_bills()
            for text in changes:
                self.reporter.event(self.ep.now(), "hub", text)
            if self.ep.port is not None:
                status = self._port_status()
                for key in ("gated_out",):
                    value = int(status.get(key, 0)) if status else 0
                    if value != self._port_seen.get(key, 0):
                        self._port_seen[key] = value
                        self.reporter.event(self.ep.now(), "port", f"{value} container(s) gated out")
        except (httpx.HTTPError, ValueError) as exc:  # following is best effort; checks are not
            log.debug("follow: %s", exc)

    # Followed per bill up to this many bills; a large generated day would make the timeline a flood.
    FOLLOW_BILLS_MAX = 40

    def _follow_bills(self) -> None:
        """The consignment events the scenarios advertise: manifest accepted, arrivals, tallies,
        inspections ordered, discrepancies found (counted per bill, reported when they change)."""
        bills = list(self.facts.bills.values())
        if len(bills) > self.FOLLOW_BILLS_MAX:
            return
        for bill in bills:
            r = self.client.get(
                f"{self.ep.hub_url}/api/v1/consignments/{bill}/timeline",
                headers={"X-API-Key": self.ep.keys["admin"]},
            )
            if r.status_code != 200:
                continue
            view = r.json()
            boxes = view.get("containers") or []
            listed = sum(1 for b in boxes if b.get("listed")) or len(boxes)
            counts = {
                "manifest": 1 if view.get("consignment") else 0,
                "arrived": sum(1 for b in boxes if b.get("arrived_at")),
                "tallied": sum(1 for b in boxes if b.get("tallied_at")),
                "inspection": sum(
                    1
                    for e in view.get("events") or []
                    if e.get("direction") == "out" and e.get("message_type") == "InspectionNotice"
                ),
                "discrepancy": len(view.get("discrepancies") or []),
            }
            for what, n in counts.items():
                if n == self._bill_seen.get((bill, what), 0):
                    continue
                self._bill_seen[(bill, what)] = n
                text = {
                    "manifest": f"{bill} manifest accepted ({listed} container(s) listed)",
                    "arrived": f"{bill} arrived {n}/{listed} container(s) (运抵)",
                    "tallied": f"{bill} tallied {n}/{listed} container(s) (理货)",
                    "inspection": f"{bill} inspection notice(s) sent: {n} (查验)",
                    "discrepancy": f"{bill} discrepancies found: {n}",
                }[what]
                self.reporter.event(self.ep.now(), "hub", text)

    def _port_status(self) -> dict[str, Any] | None:
        try:
            result = self.ep.service("port").call(self.client, "GET", "/status")
        except ControlError:
            return None
        return result  # type: ignore[no-any-return]

    # ----- run ----------------------------------------------------------------------------------
    def run(self) -> RunResult:
        started = time.monotonic()
        deadline = started + self.real_timeout
        actions = self._actions()
        last = max(
            [a.at for a in actions] + [self._port_done(v) for v in self.scenario.vessels],
            default=self.scenario.start,
        )
        for done, action in enumerate(actions):
            self._sleep_until(action.at, deadline)
            try:
                action.run()
            except ControlError as exc:
                self.errors.append(f"{action.label}: {exc}")
            self.reporter.progress(done + 1, len(actions), self.ep.now())
        settle_until = last + self.scenario.settle_time
        checker = Checker(
            self.scenario,
            self.ep.hub_url,
            self.ep.keys,
            self.facts,
            self._port_status if self.ep.port else None,
            self.client,
        )
        checks = checker.run()
        # Give up only when the simulated settle time is over AND the hub had some real seconds too: on a
        # loaded machine simulated hours pass while the hub is still working through its queue.
        real_floor = time.monotonic() + self.min_real_settle
        while (
            any(not c.ok for c in checks)
            and (self.ep.now() < settle_until or time.monotonic() < real_floor)
            and time.monotonic() < deadline
        ):
            time.sleep(0.5)
            self._follow()
            checks = checker.run()
        self._follow()
        return RunResult(
            self.scenario.name, checks, self.facts, self._summary(), self.errors, time.monotonic() - started
        )

    def _summary(self) -> dict[str, Any]:
        """The demo's closing figures, from the hub's and the port's own answers."""
        outcomes: dict[str, int] = {}
        states: dict[str, int] = {}
        early = 0
        for (ref, kind), decl_id in self.facts.declarations.items():
            vessel, cons = self.scenario.consignment(ref)
            who = getattr(cons.declarations, kind).by
            r = self.client.get(
                f"{self.ep.hub_url}/api/v1/declarations/{decl_id}", headers={"X-API-Key": self.ep.keys[who]}
            )
            if r.status_code != 200:
                continue
            view = r.json()
            states[view["state"]] = states.get(view["state"], 0) + 1
            outcome = (view.get("screening") or {}).get("outcome")
            if outcome:
                outcomes[f"stage {1 if kind == 'summary' else 2}: {outcome}"] = (
                    outcomes.get(f"stage {1 if kind == 'summary' else 2}: {outcome}", 0) + 1
                )
            declare = getattr(cons.declarations, kind)
            if kind == "summary" and self.scenario.at(declare.at) < self.scenario.at(vessel.arrival):
                early += 1
        released = 0
        for bill in self.facts.bills.values():
            r = self.client.get(
                f"{self.ep.hub_url}/api/v1/consignments/{bill}/timeline",
                headers={"X-API-Key": self.ep.keys["admin"]},
            )
            if r.status_code == 200:
                released += sum(1 for b in r.json().get("containers", []) if b.get("released_at"))
        refunds = []
        for ref, fact in self.facts.refunds.items():
            r = self.client.get(
                f"{self.ep.hub_url}/api/v1/refunds/{fact['application_no']}",
                headers={"X-API-Key": self.ep.keys[fact["exporter"]]},
            )
            case = r.json() if r.status_code == 200 else {}
            refunds.append(
                {
                    "ref": ref,
                    "application_no": fact["application_no"],
                    "class": case.get("class"),
                    "ftz_reputable": bool(case.get("ftz") and case.get("reputable")),
                    "status": case.get("status"),
                    "deadline": case.get("deadline"),
                    "used_working_days": case.get("used_working_days"),
                    "on_time": case.get("on_time"),
                }
            )
        port = self._port_status() if self.ep.port else None
        return {
            "summary_declarations_filed_early": early,
            "declaration_states": states,
            "screening_outcomes": outcomes,
            "containers_released": released,
            "containers_gated_out": (port or {}).get("gated_out"),
            "gated_out_outside_office_hours": (port or {}).get("gated_out_outside_office_hours"),
            "refunds": refunds,
        }
