"""Single-window XML that parties send in the import flow, for testers, tests and the benchmark:
manifest (MT1101), summary/complete declarations (DecMessage), arrival (MT3101), tally (MT5101),
distribution application (MT6102).
Built from the golden samples of messages.xml.samples, so every message is schema-valid."""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass
from decimal import Decimal

from messages.models.declaration import DecContainer, Declaration
from messages.models.manifest import Consignment, ConsignmentItem, Location, Site, TransportEquipment
from messages.xml import encode, samples

TERMINAL = "CNTAO/4227"  # manifest UnloadingLocation ID: the terminal a yard operator registers under
BROKER = "91370200M3C0BRK01N"  # the demo broker: the declarant (DecHead/AgentCodeScc) unless told
PACKAGES = 600
GROSS_KG = Decimal("12425.25")
_counter = itertools.count(1)


@dataclass(frozen=True, slots=True)
class Shipment:
    """One bill of lading with its containers (ISO 6346 numbers with valid check digits)."""

    bill_no: str
    containers: tuple[str, ...]

    @classmethod
    def make(cls, n: int, containers: int = 2, owner: str = "TGH") -> Shipment:
        boxes = tuple(samples.container_no(owner, n * 100 + k) for k in range(containers))
        return cls(f"SWHB{n:010d}", boxes)

    @property
    def gross_kg(self) -> Decimal:
        return GROSS_KG * len(self.containers)

    @property
    def packages(self) -> int:
        return PACKAGES * len(self.containers)


def _message_id(mt: str) -> str:
    return f"CN_{mt}_1p0_4227371190123_{next(_counter):017d}"


def manifest_xml(*shipments: Shipment, arrival: str = "20261120083000") -> bytes:
    manifest = samples.mt1101(consignments=len(shipments), containers_per_bill=1)
    manifest.head.message_id = _message_id("MT1101")
    decl = manifest.declaration
    assert decl.conveyance is not None
    decl.conveyance.arrival_date_time = arrival
    decl.unloading_location = Location(TERMINAL, arrival)
    template = decl.consignments[0]
    decl.consignments = []
    for s in shipments:
        cons: Consignment = copy.deepcopy(template)
        cons.bill_no = s.bill_no
        cons.package_quantity, cons.gross_mass = s.packages, s.gross_kg
        cons.transport_equipment = [
            TransportEquipment(box, "45R1", "2", "8", [f"SL{i:06d}"]) for i, box in enumerate(s.containers)
        ]
        cons.items = [
            ConsignmentItem(
                i + 1,
                "笔记本电脑 LAPTOP COMPUTERS",
                PACKAGES,
                "CT",
                "N/M",
                "847130",
                gross_mass=GROSS_KG,
                equipment_ids=[box],
            )
            for i, box in enumerate(s.containers)
        ]
        decl.consignments.append(cons)
    return encode(manifest)


def declaration(
    kind: str,
    s: Shipment,
    client_seq_no: str,
    *,
    gross_kg: Decimal | None = None,
    dangerous: bool = False,
    summary_entry_id: str = "",
    declarant: str = BROKER,
) -> Declaration:
    decl = samples.declaration(kind)
    decl.head.agent_code_scc = declarant  # the hub checks it is the authenticated broker
    decl.head.bill_no = s.bill_no
    decl.head.seq_no = decl.head.entry_id = ""
    decl.head.trade_country = "JPN"
    decl.head.gross_wet = gross_kg if gross_kg is not None else s.gross_kg
    decl.head.pack_no = s.packages
    decl.head.correlation_no = summary_entry_id
    for item in decl.items:
        item.code_ts = "8471300000" if kind != "summary" else "847130"
        item.g_name, item.origin_country = "笔记本电脑", "JPN"
        item.uncode = "1263" if dangerous else ""
        item.dang_name = "PAINT" if dangerous else ""
    decl.licences = []
    decl.containers = [DecContainer(box, "45R1", "1,2", "0") for box in s.containers]
    assert decl.sign is not None
    decl.sign.client_seq_no = client_seq_no
    return decl


def declaration_xml(kind: str, s: Shipment, client_seq_no: str, **kw: object) -> bytes:
    return encode(declaration(kind, s, client_seq_no, **kw))  # type: ignore[arg-type]


def arrival_xml(bill_no: str, container: str, site: str = TERMINAL) -> bytes:
    report = samples.mt3101()
    report.head.message_id = _message_id("MT3101")
    report.declaration.unloading_location = Location(site, "20261120")
    report.declaration.consignments = [
        Consignment(bill_no, package_quantity=PACKAGES, package_type_code="CT", gross_mass=GROSS_KG)
    ]
    report.declaration.transport_equipment = [
        TransportEquipment(container, "45R1", "2", "8", ["S1"], bill_no=bill_no)
    ]
    return encode(report)


def tally_xml(bill_no: str, container: str, packages: int = PACKAGES, gross_kg: Decimal = GROSS_KG) -> bytes:
    report = samples.mt5101()
    report.head.message_id = _message_id("MT5101")
    cons = report.declaration.consignments[0]
    cons.bill_no, cons.package_quantity, cons.gross_mass = bill_no, packages, gross_kg
    cons.transport_equipment = [
        TransportEquipment(
            container, "45R1", "2", "8", ["S1"], package_quantity=packages, gross_mass=gross_kg
        )
    ]
    return encode(report)


def distribution_xml(s: Shipment, destination: str, site_name: str = "监管场所 supervised site") -> bytes:
    """分拨申请 (MT6102): the bill's containers move from the terminal to the supervised site
    `destination`, whose arrival reports (MT3101 with UnloadingLocation = destination) then count."""
    report = samples.mt6102()
    report.head.message_id = _message_id("MT6102")
    decl = report.declaration
    decl.unloading_location = Location(TERMINAL, "20261120")
    decl.destination_site = Site(destination, site_name, "4258")
    decl.consignments = [
        Consignment(
            s.bill_no,
            package_quantity=s.packages,
            package_type_code="CT",
            gross_mass=s.gross_kg,
            transport_equipment=[TransportEquipment(box, "45R1", fullness_code="8") for box in s.containers],
        )
    ]
    return encode(report)


def consignee() -> str:
    """The consignee (TradeCoScc) of the declarations this module writes: a broker filing them needs
    its entrustment (代理报关委托)."""
    return declaration("summary", Shipment.make(1, 1), "consignee-probe").head.trade_co_scc
