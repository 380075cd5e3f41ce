"""Canonical new-manifest (新舱单) messages: one family for MT1101/2101/3101/4101/5101/5102/6101/6102.

Names follow the WCO-data-model element names of the customs XML in snake_case, flattened where the
XML only nests for structure (TransportContractDocument/ID -> `Consignment.bill_no`). Every message
type uses a subset; which subset is declared by the per-type XSD and binding. EDIFACT maps onto the
same classes: CUSCAR ~ MT1101/MT2101, CODECO gate-in ~ MT3101, COARRI ~ MT5101/MT5102/MT4101.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

# CN010 function codes
FUNCTION_CODES: dict[str, str] = {"2": "新增", "3": "删除", "5": "变更", "9": "原始/申报", "11": "其他"}

# FullnessCode as terminals send it (N4 mapping): 8 FCL, 7 LCL, 4 empty; 5 also seen in samples.
FULLNESS_CODES: dict[str, str] = {"4": "empty", "5": "other", "7": "LCL", "8": "FCL"}


@dataclass(slots=True)
class ManifestHead:
    message_id: str
    function_code: str  # CN010
    message_type: str  # MT1101 ...; on an MT9999 receipt: the business type answered
    sender_id: str
    receiver_id: str
    send_time: str  # yyyyMMddHHmmssSSS
    version: str = "1.0"


@dataclass(slots=True)
class Communication:
    id: str  # number / address
    type_id: str = ""  # TE phone, EM e-mail, FX fax


@dataclass(slots=True)
class Party:
    """Consignor / Consignee / NotifyParty. `id` is scheme+id, e.g. 'USCI+91370200...'."""

    name: str = ""
    id: str = ""
    address_line: str = ""
    city_name: str = ""
    country_sub_entity_id: str = ""
    country_sub_entity_name: str = ""
    postcode_id: str = ""
    country_code: str = ""
    communications: list[Communication] = field(default_factory=list)
    contact_name: str = ""


@dataclass(slots=True)
class TransportEquipment:
    """A container. Under a consignment it is the container of that bill; at declaration level
    (MT3101 arrival, MT5101 tally) it is the container reported on its own."""

    equipment_id: str  # EquipmentIdentification/ID, ISO 6346
    characteristic_code: str = ""  # size-type 22G1 / 45G1 / 45R1
    supplier_party_type_code: str = ""  # owner: 1 shipper, 2 carrier
    fullness_code: str = ""
    seal_ids: list[str] = field(default_factory=list)
    # SealID/@AgencyCode = EDIFACT SEL 4517 (CA carrier, SH shipper, CU customs, ...), parallel to
    # seal_ids; [] or "" where the sender named none
    seal_agencies: list[str] = field(default_factory=list)
    bill_no: str = ""  # TransportContractDocument/ID: declaration-level link to a bill (MT3101/5101)
    package_quantity: int | None = None  # tally: packages counted in this container
    gross_mass: Decimal | None = None  # tally: kg


@dataclass(slots=True)
class ConsignmentItem:
    sequence_numeric: int
    cargo_description: str = ""
    package_quantity: int | None = None
    package_type_code: str = ""
    marks_numbers: str = ""
    hs_code: str = ""  # Commodity/Classification/ID
    undg_code: str = ""  # UN number of dangerous goods
    gross_mass: Decimal | None = None  # kg
    equipment_ids: list[str] = field(default_factory=list)  # containers holding this line


@dataclass(slots=True)
class Consignment:
    """One bill of lading."""

    bill_no: str  # TransportContractDocument/ID (master or house bill)
    condition_code: str = ""  # bill type, e.g. 10 / 11
    consolidator_id: str = ""
    change_reason_code: str = ""  # Amendment/ChangeReasonCode (FunctionCode 3/5)
    house_bill_no: str = ""  # AssociatedTransportDocument/ID
    gross_volume: Decimal | None = None  # m3
    value_amount: Decimal | None = None
    value_currency: str = ""
    package_quantity: int | None = None  # TotalPackageQuantity or ConsignmentPackaging/QuantityQuantity
    package_type_code: str = ""  # unitCode / ConsignmentPackaging/TypeCode
    gross_mass: Decimal | None = None  # TotalGrossMassMeasure, kg
    customs_status_code: str = ""
    freight_payment_method_code: str = ""  # PP / CC / FF
    loading_location_id: str = ""
    unloading_location_id: str = ""
    goods_receipt_place_id: str = ""
    goods_receipt_place_name: str = ""
    consignor: Party | None = None
    consignee: Party | None = None
    notify_party: Party | None = None
    transport_equipment: list[TransportEquipment] = field(default_factory=list)
    items: list[ConsignmentItem] = field(default_factory=list)


@dataclass(slots=True)
class BorderTransportMeans:
    """The vessel (or other conveyance) and its voyage."""

    journey_id: str = ""  # voyage number
    type_code: str = ""  # 1 sea/water ...
    id: str = ""  # 'UN' + IMO number
    name: str = ""
    first_arrival_location_id: str = ""
    arrival_date_time: str = ""
    departure_date_time: str = ""
    actual_date_time: str = ""
    completed_date_time: str = ""
    loading_location_id: str = ""


@dataclass(slots=True)
class Location:
    """LoadingLocation / UnloadingLocation: ID = UN/LOCODE + '/' + customs code, e.g. CNTAO/4227."""

    id: str
    date_time: str = ""  # yyyyMMdd (written as ...Date) or yyyyMMddHHmmss (written as ...DateTime)


@dataclass(slots=True)
class Site:
    """A supervised site (监管场所) for diversion / distribution: code + name + customs office."""

    id: str  # 监管场所代码
    name: str = ""
    customs_office_id: str = ""


@dataclass(slots=True)
class ManifestDeclaration:
    declaration_office_id: str = ""  # 4-digit customs
    id: str = ""  # manifest number (road) / application number (MT6101/6102)
    representative_person_name: str = ""
    exit_customs_office_id: str = ""
    agent_id: str = ""
    carrier_id: str = ""
    conveyance: BorderTransportMeans | None = None
    loading_location: Location | None = None
    unloading_location: Location | None = None
    tally_party_id: str = ""  # MT5101 / MT5102
    origin_site: Site | None = None  # MT6101 / MT6102: where the goods are now
    destination_site: Site | None = None  # MT6101 / MT6102: supervised site they move to
    consignments: list[Consignment] = field(default_factory=list)
    transport_equipment: list[TransportEquipment] = field(default_factory=list)
    additional_information: str = ""  # AdditionalInformation/Content (reason, remarks)


@dataclass(slots=True)
class Manifest:
    head: ManifestHead
    declaration: ManifestDeclaration

    @property
    def message_type(self) -> str:
        return self.head.message_type
