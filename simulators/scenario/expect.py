"""Check a scenario's expected outcomes against what the hub and the simulators report over their
public APIs. Every check yields a `Check` (what was expected, what was found) so a failed run lists all
the differences at once."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from simulators.scenario.model import (
    Count,
    ExpectConsignment,
    ExpectDeclaration,
    ExpectNotice,
    ExpectRefund,
    Scenario,
    count_ok,
    count_text,
)


@dataclass(frozen=True, slots=True)
class Check:
    where: str  # e.g. "expect.declarations[0] (B1 summary)"
    what: str
    expected: str
    actual: str
    ok: bool

    def line(self) -> str:
        mark = "ok  " if self.ok else "FAIL"
        return f"{mark} {self.where}: {self.what}: expected {self.expected}, got {self.actual}"


def _one_of(expected: str | list[str]) -> list[str]:
    return [expected] if isinstance(expected, str) else list(expected)


@dataclass
class Facts:
    """What the run knows about the identifiers it created (filled by the runner)."""

    bills: dict[str, str]  # consignment ref -> bill no
    declarations: dict[tuple[str, str], str]  # (consignment ref, kind) -> hub declaration id
    refunds: dict[str, dict[str, Any]]  # refund ref -> {"application_no", "uscc", "receipt"}
    # (consignment ref, kind) -> every state the runner saw, in order (it polls, so very short-lived
    # states can be missed: expect only states that last, like `held` until the manifest comes)
    history: dict[tuple[str, str], list[str]] = field(default_factory=dict)


class Checker:
    def __init__(
        self,
        scenario: Scenario,
        hub_url: str,
        keys: dict[str, str],
        facts: Facts,
        port_status: Any = None,
        client: httpx.Client | None = None,
    ) -> None:
        self.scenario = scenario
        self.hub = hub_url.rstrip("/")
        self.keys = keys
        self.facts = facts
        self.port_status = port_status  # callable -> dict, or None when no port simulator
        self.client = client or httpx.Client(timeout=15)

    def _get(self, path: str, who: str = "admin", **params: Any) -> Any:
        response = self.client.get(
            f"{self.hub}{path}", params=params or None, headers={"X-API-Key": self.keys[who]} if who else {}
        )
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return response.json()

    def run(self) -> list[Check]:
        e = self.scenario.expect
        checks: list[Check] = []
        for i, d in enumerate(e.declarations):
            checks.extend(self._declaration(f"expect.declarations[{i}] ({d.of} {d.kind})", d))
        for i, c in enumerate(e.consignments):
            checks.extend(self._consignment(f"expect.consignments[{i}] ({c.of})", c))
        for i, n in enumerate(e.notices):
            checks.extend(self._notice(f"expect.notices[{i}] ({n.type} to {n.to})", n))
        if e.port is not None:
            checks.extend(self._port())
        for i, r in enumerate(e.refunds):
            checks.extend(self._refund(f"expect.refunds[{i}] ({r.of})", r))
        if e.dead_letters is not None:
            rows = self._get("/api/v1/dead-letters") or []
            checks.append(self._count("expect.dead_letters", "dead letters", e.dead_letters, len(rows)))
        return checks

    @staticmethod
    def _count(where: str, what: str, expected: Count, actual: float) -> Check:
        return Check(where, what, count_text(expected), f"{actual:g}", count_ok(expected, actual))

    # ----- declarations -------------------------------------------------------------------------
    def _declaration(self, where: str, d: ExpectDeclaration) -> Iterator[Check]:
        decl_id = self.facts.declarations.get((d.of, d.kind))
        view = self._get(f"/api/v1/declarations/{decl_id}") if decl_id else None
        if view is None:
            yield Check(
                where,
                "declaration",
                "filed and known to the hub",
                "never accepted" if decl_id is None else "not found",
                False,
            )
            return
        if d.state is not None:
            yield Check(
                where,
                "state",
                " or ".join(_one_of(d.state)),
                view["state"],
                view["state"] in _one_of(d.state),
            )
        screening = view.get("screening") or {}
        if d.outcome is not None:
            actual = screening.get("outcome", "(not screened)")
            yield Check(
                where,
                "screening outcome",
                " or ".join(_one_of(d.outcome)),
                actual,
                actual in _one_of(d.outcome),
            )
        if d.rules:
            hits = sorted({h.get("rule_id", "") for h in screening.get("hits", [])})
            missing = [r for r in d.rules if r not in hits]
            yield Check(where, "rules hit", ", ".join(d.rules), ", ".join(hits) or "none", not missing)
        if d.passed_through:
            seen = self.facts.history.get((d.of, d.kind), [])
            missing = [state for state in d.passed_through if state not in seen]
            yield Check(
                where,
                "states on the way",
                ", ".join(d.passed_through),
                " -> ".join(seen) or "none",
                not missing,
            )
        if d.late is not None:
            late = bool((view.get("deadlines") or {}).get("late"))
            yield Check(where, "late", str(d.late).lower(), str(late).lower(), late == d.late)
        if d.inspection is not None:
            ordered = bool(view.get("inspection"))
            yield Check(
                where,
                "inspection ordered",
                str(d.inspection).lower(),
                str(ordered).lower(),
                ordered == d.inspection,
            )

    # ----- consignments -------------------------------------------------------------------------
    def _consignment(self, where: str, c: ExpectConsignment) -> Iterator[Check]:
        view = self._get(f"/api/v1/consignments/{self.facts.bills[c.of]}/timeline")
        if view is None:
            yield Check(where, "consignment", "known to the hub", "not found", False)
            return
        boxes = view.get("containers", [])
        for name, field_name in (
            ("released", "released_at"),
            ("arrived", "arrived_at"),
            ("tallied", "tallied_at"),
        ):
            expected = getattr(c, name)
            if expected is not None:
                actual = sum(1 for b in boxes if b.get(field_name))
                yield self._count(where, f"containers {name}", expected, actual)
        kinds = sorted({d["kind"] for d in view.get("discrepancies", [])})
        if c.discrepancies is not None:
            missing = [k for k in c.discrepancies if k not in kinds]
            yield Check(
                where,
                "discrepancies",
                ", ".join(c.discrepancies) or "none",
                ", ".join(kinds) or "none",
                not missing,
            )
        if c.no_discrepancies:
            yield Check(where, "discrepancies", "none", ", ".join(kinds) or "none", not kinds)

    # ----- notices ------------------------------------------------------------------------------
    def _notice(self, where: str, n: ExpectNotice) -> Iterator[Check]:
        uscc = self.scenario.parties[n.to].uscc
        params: dict[str, Any] = {"message_type": n.type, "limit": 1000}
        if n.of is not None:
            params["bill_no"] = self.facts.bills[n.of]
        rows = self._get("/api/v1/messages", n.to, **params) or []
        received = [r for r in rows if r.get("direction") == "out" and r.get("receiver") == uscc]
        yield self._count(where, f"{n.type} notices received", n.count, len(received))

    # ----- port ---------------------------------------------------------------------------------
    def _port(self) -> Iterator[Check]:
        p = self.scenario.expect.port
        assert p is not None
        status = self.port_status() if self.port_status else None
        if status is None:
            yield Check("expect.port", "port simulator", "running", "not running", False)
            return
        containers = status.get("containers", {})
        for name, actual in (
            ("gated_out", status.get("gated_out", 0)),
            ("gated_out_outside_office_hours", status.get("gated_out_outside_office_hours", 0)),
            ("never_discharged", containers.get("never_discharged", 0)),
        ):
            expected = getattr(p, name)
            if expected is not None:
                yield self._count("expect.port", name.replace("_", " "), expected, actual)

    # ----- refunds ------------------------------------------------------------------------------
    def _refund(self, where: str, r: ExpectRefund) -> Iterator[Check]:
        fact = self.facts.refunds.get(r.of)
        if fact is None:
            yield Check(where, "refund", "filed", "never accepted by the hub", False)
            return
        case = self._get(f"/api/v1/refunds/{fact['application_no']}", fact["exporter"])
        if case is None:
            yield Check(where, "refund", "known to the hub", "not found", False)
            return
        if r.status is not None:
            yield Check(
                where,
                "status",
                " or ".join(_one_of(r.status)),
                case["status"],
                case["status"] in _one_of(r.status),
            )
        if r.deadline is not None:
            deadline = str(case.get("deadline") or "(none)")[:10]
            yield Check(where, "SLA deadline", r.deadline, deadline, deadline == r.deadline)
        if r.on_time is not None:
            actual = "clock still running" if case.get("on_time") is None else str(case["on_time"]).lower()
            yield Check(where, "on time", str(r.on_time).lower(), actual, case.get("on_time") is r.on_time)
        if r.used_working_days is not None:
            yield self._count(where, "working days used", r.used_working_days, case["used_working_days"])
