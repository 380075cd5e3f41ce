"""Single-window XML (and EDIFACT) the port side sends, built with the messages/ package from the
engine's plan: manifest MT1101 (or CUSCAR), tally MT5101 (or COARRI), gate-in arrival MT3101 (or
CODECO), the distribution application MT6102 and the gate-out report (CODECO BGM 36, always EDIFACT:
the single window has no XML for it). Every builder is pure and validates on encode
(XSD + semantic rules), so a bad plan fails here, not at the hub."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from messages.convert import convert
from messages.models.gate import GateOut, GateOutReport
from messages.models.manifest import (
    BorderTransportMeans,
    Consignment,
    ConsignmentItem,
    Location,
    Manifest,
    ManifestDeclaration,
    ManifestHead,
    Party,
    Site,
    TransportEquipment,
)
from messages.xml import encode, samples
from simulators.common.clock import SHANGHAI

EDIFACT_OF = {"MT1101": "CUSCAR", "MT5101": "COARRI", "MT3101": "CODECO"}
RECEIVER = "EPORT"
CONSIGNOR = Party(name="PACIFIC ELECTRONICS EXPORT CO LTD", city_name="BUSAN", country_code="KR")
CONSIGNEE = Party(name="青岛海丰国际贸易有限公司", id=f"USCI+{samples.TRADE_CO_SCC}", country_code="CN")
LEG = timedelta(days=3)  # loading port -> arrival, for the manifest's loading date


@dataclass(frozen=True, slots=True)
class Vessel:
    name: str
    voyage_no: str
    imo: str | None
    arrival: datetime
    loading_port: str = "KRPUS"  # UN/LOCODE where the cargo was loaded

    @property
    def conveyance_id(self) -> str:
        return f"UN{self.imo}" if self.imo else ""


@dataclass(frozen=True, slots=True)
class Box:
    """One container as the manifest lists it and as the tally finds it."""

    number: str
    size_type: str
    packages: int
    gross_kg: Decimal
    tally_packages: int
    tally_gross_kg: Decimal


@dataclass(frozen=True, slots=True)
class Bill:
    bill_no: str
    goods: str
    hs_code: str
    consignee: str | None  # USCC; None: the sample consignee
    boxes: tuple[Box, ...]


def stamp(when: datetime, digits: int = 14) -> str:
    """yyyyMMddHHmmss[SSS] in Shanghai time, as the manifest family writes dates."""
    local = when.astimezone(SHANGHAI)
    text = local.strftime("%Y%m%d%H%M%S") + f"{local.microsecond // 1000:03d}"
    return text[:digits]


def customs_office(location_id: str) -> str:
    """CNTAO/4227 -> 4227 (the customs code after the slash), else the Qingdao default."""
    code = location_id.partition("/")[2]
    return code if len(code) == 4 and code.isdigit() else "4227"


def _head(mt: str, message_id: str, sender: str, at: datetime, function_code: str) -> ManifestHead:
    return ManifestHead(message_id, function_code, mt, sender, RECEIVER, stamp(at, 17), "1.0")


def _conveyance(vessel: Vessel, **extra: str) -> BorderTransportMeans:
    return BorderTransportMeans(
        journey_id=vessel.voyage_no, type_code="1", id=vessel.conveyance_id, name=vessel.name, **extra
    )


def manifest(
    vessel: Vessel, bills: list[Bill], terminal: str, *, message_id: str, sender: str, at: datetime
) -> Manifest:
    """Original import manifest (MT1101): one goods line per container, so the hub reads packages and
    weight per container (it reconciles them with the tally)."""
    consignments = []
    for bill in bills:
        consignments.append(
            Consignment(
                bill_no=bill.bill_no,
                condition_code="10",
                package_quantity=sum(b.packages for b in bill.boxes),
                package_type_code="CT",
                gross_mass=sum((b.gross_kg for b in bill.boxes), Decimal(0)),
                freight_payment_method_code="PP",
                loading_location_id=vessel.loading_port,
                unloading_location_id=terminal.partition("/")[0],
                consignor=CONSIGNOR,
                consignee=Party(CONSIGNEE.name, f"USCI+{bill.consignee}", country_code="CN")
                if bill.consignee
                else CONSIGNEE,
                transport_equipment=[
                    TransportEquipment(b.number, b.size_type, "2", "8", [f"SL{b.number[4:]}"])
                    for b in bill.boxes
                ],
                items=[
                    ConsignmentItem(
                        i + 1,
                        bill.goods,
                        b.packages,
                        "CT",
                        "N/M",
                        bill.hs_code,
                        gross_mass=b.gross_kg,
                        equipment_ids=[b.number],
                    )
                    for i, b in enumerate(bill.boxes)
                ],
            )
        )
    arrival = stamp(vessel.arrival)
    return Manifest(
        _head("MT1101", message_id, sender, at, "9"),
        ManifestDeclaration(
            declaration_office_id=customs_office(terminal),
            carrier_id="COSCO",
            agent_id=sender,
            conveyance=_conveyance(
                vessel, first_arrival_location_id=terminal.partition("/")[0], arrival_date_time=arrival
            ),
            loading_location=Location(vessel.loading_port, stamp(vessel.arrival - LEG, 8)),
            unloading_location=Location(terminal, arrival),
            consignments=consignments,
        ),
    )


def tally(
    vessel: Vessel, bill_no: str, box: Box, terminal: str, *, message_id: str, sender: str, at: datetime
) -> Manifest:
    """Import tally (MT5101) of one discharged container: what the tally clerk counted."""
    equipment = TransportEquipment(
        box.number,
        box.size_type,
        "2",
        "8",
        [f"SL{box.number[4:]}"],
        package_quantity=box.tally_packages,
        gross_mass=box.tally_gross_kg,
    )
    return Manifest(
        _head("MT5101", message_id, sender, at, "2"),
        ManifestDeclaration(
            declaration_office_id=customs_office(terminal),
            conveyance=_conveyance(vessel, actual_date_time=stamp(at)),
            unloading_location=Location(terminal, stamp(at, 8)),
            tally_party_id=sender,
            consignments=[
                Consignment(
                    bill_no,
                    package_quantity=box.tally_packages,
                    package_type_code="CT",
                    gross_mass=box.tally_gross_kg,
                    transport_equipment=[equipment],
                )
            ],
        ),
    )


def arrival(
    vessel: Vessel, bill_no: str, box: Box, site: str, *, message_id: str, sender: str, at: datetime
) -> Manifest:
    """Arrival report (MT3101, 运抵): the container gated into `site` (the terminal, or the supervised
    site distributed cargo went to)."""
    return Manifest(
        _head("MT3101", message_id, sender, at, "2"),
        ManifestDeclaration(
            declaration_office_id=customs_office(site),
            conveyance=_conveyance(vessel),
            unloading_location=Location(site, stamp(at, 8)),
            consignments=[
                Consignment(
                    bill_no, package_quantity=box.packages, package_type_code="CT", gross_mass=box.gross_kg
                )
            ],
            transport_equipment=[
                TransportEquipment(
                    box.number, box.size_type, "2", "8", [f"SL{box.number[4:]}"], bill_no=bill_no
                )
            ],
        ),
    )


def distribution(
    vessel: Vessel,
    bill: Bill,
    terminal: str,
    destination: str,
    *,
    application_no: str,
    message_id: str,
    sender: str,
    at: datetime,
) -> Manifest:
    """Distribution application (MT6102, 分拨申请): the bill's containers move from the terminal to a
    supervised site, which then reports their arrival."""
    return Manifest(
        _head("MT6102", message_id, sender, at, "2"),
        ManifestDeclaration(
            declaration_office_id=customs_office(terminal),
            id=application_no,
            additional_information=f"分拨至监管场所 {destination}",
            conveyance=_conveyance(vessel),
            unloading_location=Location(terminal, stamp(vessel.arrival, 8)),
            origin_site=Site(terminal, "码头 terminal", customs_office(terminal)),
            destination_site=Site(destination, "监管场所 supervised site", customs_office(destination)),
            consignments=[
                Consignment(
                    bill.bill_no,
                    package_quantity=sum(b.packages for b in bill.boxes),
                    package_type_code="CT",
                    gross_mass=sum((b.gross_kg for b in bill.boxes), Decimal(0)),
                    transport_equipment=[
                        TransportEquipment(b.number, b.size_type, fullness_code="8") for b in bill.boxes
                    ],
                )
            ],
        ),
    )


def gate_out(container: str, bill_no: str, site: str, message_id: str, sender: str, at: datetime) -> bytes:
    """Gate-out report (CODECO BGM 36) of one box leaving `site` at `at` (whole seconds: DTM+7 has
    no place for fractions)."""
    moment = at.astimezone(SHANGHAI).replace(microsecond=0)
    report = GateOutReport(
        message_id, sender, "COSCO", [GateOut(container, bill_no, moment, site, status_code="2")]
    )
    return convert(encode(report), to="edifact")[0].content


def render(model: Manifest, wire_format: str) -> bytes:
    """XML, or its EDIFACT equivalent (CUSCAR / COARRI / CODECO) through messages.convert."""
    xml = encode(model)
    if wire_format == model.head.message_type:
        return xml
    if EDIFACT_OF.get(model.head.message_type) != wire_format:
        raise ValueError(f"{model.head.message_type} cannot be sent as {wire_format}")
    return convert(xml, to="edifact")[0].content
