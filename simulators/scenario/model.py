"""What a scenario file says: traders, vessels with their consignments and declarations, refunds, the
faults to inject and the expected outcomes. Times are offsets from `start` ("+3h30m", "-1d")."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from simulators.scenario import vocab
from simulators.scenario.durations import parse_offset

Offset = str  # validated by parse_offset


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Party(Strict):
    # 统一社会信用代码: no I, O, S, V, Z (the hub refuses other codes)
    uscc: str = Field(pattern=r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$")
    name: str
    roles: list[Literal["broker", "importer", "exporter", "port_operator", "tally"]]
    credit_class: Literal["aeo", "certified", "general", "discredited"] = "general"
    refund_class: int | None = Field(default=None, ge=1, le=4)
    ftz: bool = False
    reputable: bool = False
    terminal_code: str | None = None


class Terminal(Strict):
    code: str = "CNTAO/4227"
    operator: str  # party ref (port_operator)
    carrier_agent: str  # party ref (sends manifests)


class Declare(Strict):
    by: str  # broker party ref
    importer: str | None = None  # party ref whose credit class the risk engine uses
    at: Offset
    client_seq_no: str | None = Field(default=None, max_length=18)  # steering prefixes of the customs sim
    gross_kg: Decimal | None = None  # declared weight if not the manifest's


class Declarations(Strict):
    summary: Declare | None = None
    complete: Declare | None = None


class Consignment(Strict):
    ref: str
    bill_no: str | None = Field(default=None, max_length=20)
    goods: str = "笔记本电脑 LAPTOP COMPUTERS"
    hs_code: str = "847130"
    containers: int = Field(ge=1, le=200)
    packages_per_container: int = Field(default=600, ge=1)
    kg_per_container: Decimal = Decimal("12425.25")
    tally_kg: dict[int, Decimal] = {}  # container index (1-based) -> what the tally weighs
    not_discharged: list[int] = []  # container indexes listed on the manifest but never discharged
    destination_site: str | None = None  # distributed cargo (MT6102) to this supervised site
    declarations: Declarations = Declarations()


class Vessel(Strict):
    id: str
    name: str = "COSCO TAURUS"
    voyage: str = "088E"
    manifest_at: Offset
    arrival: Offset
    discharge_start: Offset
    discharge_interval: Offset = "3m"
    manifest_format: Literal["MT1101", "CUSCAR"] = "MT1101"
    tally_format: Literal["MT5101", "COARRI"] = "MT5101"
    gate_format: Literal["MT3101", "CODECO"] = "MT3101"
    consignments: list[Consignment]


class Refund(Strict):
    ref: str
    exporter: str  # party ref
    application_no: str = Field(pattern=r"^[0-9A-Z][0-9A-Z\-]{5,31}$")
    at: Offset
    amount: Decimal = Decimal("1300.00")
    account_no: str = "6222000011112222"


class Fault(Strict):
    """`target`: port (flow faults), tax/bank/customs (their failure injection), broker (connection drop
    of every hub connection, RabbitMQ only)."""

    target: Literal["port", "customs", "tax", "bank", "broker"]
    kind: str  # port: latency|drop|duplicate|reorder|malformed|connection_drop; others: their modes
    flow: str = "*"  # port: manifest|tally|arrival|distribution|*; tax/bank/customs: the operation
    count: int | None = Field(default=1, ge=1)
    seconds: float = Field(default=0.0, ge=0)
    at: Offset = "+0s"


class Range(Strict):
    min: float | None = None
    max: float | None = None


Count = int | Range


class ExpectDeclaration(Strict):
    of: str  # consignment ref
    kind: Literal["summary", "complete"] = "summary"
    state: str | list[str] | None = None
    outcome: str | list[str] | None = None  # stage screening outcome
    rules: list[str] = []  # rule ids that must be among the screening hits
    late: bool | None = None
    inspection: bool | None = None  # an inspection was ordered (by the hub or customs)
    passed_through: list[str] = []  # states the run saw on the way (e.g. held before the manifest)


class ExpectConsignment(Strict):
    of: str
    released: Count | None = None  # containers with a release
    arrived: Count | None = None
    tallied: Count | None = None
    discrepancies: list[str] | None = None  # discrepancy kinds that must be present
    no_discrepancies: bool = False


class ExpectNotice(Strict):
    to: str  # party ref
    type: str  # message type, e.g. InspectionNotice, ReleaseNotice, DiscrepancyNotice
    count: Count = Range(min=1)
    of: str | None = None  # consignment ref


class ExpectPort(Strict):
    gated_out: Count | None = None
    gated_out_outside_office_hours: Count | None = None
    never_discharged: Count | None = None


class ExpectRefund(Strict):
    of: str
    status: str | list[str] | None = None
    deadline: str | None = None  # the case's SLA deadline date (YYYY-MM-DD), after acceptance
    on_time: bool | None = None  # the SLA clock stopped within the time limit
    used_working_days: Count | None = None


class Expectations(Strict):
    declarations: list[ExpectDeclaration] = []
    consignments: list[ExpectConsignment] = []
    notices: list[ExpectNotice] = []
    port: ExpectPort | None = None
    refunds: list[ExpectRefund] = []
    dead_letters: Count | None = None


class Scenario(Strict):
    name: str
    title: str = ""
    description: str = ""
    start: datetime
    speed: float = Field(default=1200.0, gt=0)  # simulated seconds per real second
    settle: Offset = "6h"  # simulated time allowed after the last action for expectations to hold
    parties: dict[str, Party]
    terminal: Terminal | None = None
    vessels: list[Vessel] = []
    refunds: list[Refund] = []
    faults: list[Fault] = []
    expect: Expectations = Expectations()

    @field_validator("start")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("start needs a UTC offset, e.g. 2026-11-23T06:00:00+08:00")
        return value

    @model_validator(mode="after")
    def _references(self) -> Scenario:
        problems = list(self.reference_problems())
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def reference_problems(self) -> list[str]:
        """Every dangling party/consignment reference and bad offset, all at once, with its location."""
        out: list[str] = []

        def party(where: str, ref: str | None, role: str | None = None) -> None:
            if ref is None:
                return
            if ref not in self.parties:
                out.append(f"{where}: unknown party {ref!r}")
            elif role and role not in self.parties[ref].roles:
                out.append(f"{where}: party {ref!r} lacks role {role!r}")

        def offset(where: str, text: str) -> None:
            try:
                parse_offset(text)
            except ValueError as exc:
                out.append(f"{where}: {exc}")

        if self.vessels and self.terminal is None:
            out.append("terminal: required when there are vessels")
        if self.terminal:
            party("terminal.operator", self.terminal.operator, "port_operator")
            party("terminal.carrier_agent", self.terminal.carrier_agent, "broker")
        refs: set[str] = set()
        for v, vessel in enumerate(self.vessels):
            for name in ("manifest_at", "arrival", "discharge_start", "discharge_interval"):
                offset(f"vessels[{v}].{name}", getattr(vessel, name))
            for c, cons in enumerate(vessel.consignments):
                where = f"vessels[{v}].consignments[{c}]"
                if cons.ref in refs:
                    out.append(f"{where}.ref: {cons.ref!r} used twice")
                refs.add(cons.ref)
                for index in [*cons.tally_kg, *cons.not_discharged]:
                    if not 1 <= index <= cons.containers:
                        out.append(f"{where}: container index {index} outside 1..{cons.containers}")
                for kind in ("summary", "complete"):
                    declare = getattr(cons.declarations, kind)
                    if declare is not None:
                        party(f"{where}.declarations.{kind}.by", declare.by, "broker")
                        party(f"{where}.declarations.{kind}.importer", declare.importer)
                        offset(f"{where}.declarations.{kind}.at", declare.at)
        for r, refund in enumerate(self.refunds):
            party(f"refunds[{r}].exporter", refund.exporter, "exporter")
            offset(f"refunds[{r}].at", refund.at)
        for f, fault in enumerate(self.faults):
            offset(f"faults[{f}].at", fault.at)
        refund_refs = {r.ref for r in self.refunds}
        e = self.expect
        for i, d in enumerate(e.declarations):
            if d.of not in refs:
                out.append(f"expect.declarations[{i}].of: unknown consignment {d.of!r}")
            states, where = vocab.DECLARATION_STATES, f"expect.declarations[{i}]"
            out += vocab.unknown(f"{where}.state", d.state, states, "state")
            out += vocab.unknown(f"{where}.passed_through", d.passed_through, states, "state")
            out += vocab.unknown(f"{where}.outcome", d.outcome, vocab.OUTCOMES, "outcome")
        for i, c in enumerate(e.consignments):
            if c.of not in refs:
                out.append(f"expect.consignments[{i}].of: unknown consignment {c.of!r}")
            out += vocab.unknown(
                f"expect.consignments[{i}].discrepancies", c.discrepancies, vocab.DISCREPANCY_KINDS, "kind"
            )
        for i, n in enumerate(e.notices):
            party(f"expect.notices[{i}].to", n.to)
            out += vocab.unknown(f"expect.notices[{i}].type", n.type, vocab.NOTICE_TYPES, "notice type")
            if n.of is not None and n.of not in refs:
                out.append(f"expect.notices[{i}].of: unknown consignment {n.of!r}")
        for i, rf in enumerate(e.refunds):
            if rf.of not in refund_refs:
                out.append(f"expect.refunds[{i}].of: unknown refund {rf.of!r}")
            out += vocab.unknown(f"expect.refunds[{i}].status", rf.status, vocab.REFUND_STATUSES, "status")
        offset("settle", self.settle)
        return out

    # ----- derived ----------------------------------------------------------------------------------
    def at(self, offset: str) -> datetime:
        return self.start + parse_offset(offset)

    def consignments(self) -> list[tuple[Vessel, Consignment]]:
        return [(v, c) for v in self.vessels for c in v.consignments]

    def consignment(self, ref: str) -> tuple[Vessel, Consignment]:
        return next((v, c) for v, c in self.consignments() if c.ref == ref)

    @property
    def settle_time(self) -> timedelta:
        return parse_offset(self.settle)


def as_count(value: Count) -> Range:
    return Range(min=value, max=value) if isinstance(value, int) else value


def count_ok(value: Count, actual: float) -> bool:
    r = as_count(value)
    return (r.min is None or actual >= r.min) and (r.max is None or actual <= r.max)


def count_text(value: Count) -> str:
    if isinstance(value, int):
        return str(value)
    if value.min is not None and value.max is not None:
        return f"between {value.min:g} and {value.max:g}"
    return f"at least {value.min:g}" if value.min is not None else f"at most {value.max:g}"


def dump(value: Any) -> Any:
    return value.model_dump(mode="json") if isinstance(value, BaseModel) else value
