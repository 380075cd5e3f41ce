"""New-manifest XML (MT1101 ... MT6102, MT9999) <-> canonical Manifest / ManifestResponse.

One binding per message type, assembled from shared pieces in the same order as the matching
xsd/manifest/MTxxxx.xsd. The root namespace carries the message type; Head/MessageType must agree
(except on MT9999, where it names the business type being answered).
"""

from __future__ import annotations

from lxml import etree

from messages.errors import ValidationIssue
from messages.models.manifest import (
    BorderTransportMeans,
    Communication,
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
from messages.models.receipts import ConsignmentResponse, EquipmentResponse, ManifestResponse
from messages.xml.binding import Binding, Child, Choice, Group, Leaf, LeafList, decode_into, encode_into
from messages.xml.schemas import MANIFEST_NS_PREFIX, manifest_ns
from messages.xml.spec import leaves

KGM = (("unitCode", "KGM"),)


def _id(attr: str, tag: str, required: bool = False) -> Group:
    """<Tag><ID>value</ID></Tag> flattened onto one attribute."""
    return Group(tag, (Leaf("ID", attr, required=required),), required=required)


def _mass(attr: str, tag: str = "TotalGrossMassMeasure", required: bool = False) -> Leaf:
    return Leaf(tag, attr, "dec", required, const_attrs=KGM)


HEAD = Binding(
    ManifestHead,
    leaves(
        "MessageID!=message_id FunctionCode! MessageType! SenderID!=sender_id ReceiverID!=receiver_id "
        "SendTime! Version!"
    ),
)

COMMUNICATION = Binding(Communication, leaves("ID!=id TypeID=type_id"))
PARTY = Binding(
    Party,
    (
        Leaf("ID", "id"),
        Leaf("Name", "name", required=True),
        Group(
            "Address",
            leaves(
                "Line=address_line CityName CountrySubEntityID=country_sub_entity_id CountrySubEntityName "
                "PostcodeID=postcode_id CountryCode"
            ),
        ),
        Child("Communication", "communications", COMMUNICATION, many=True),
        Group("Contact", (Leaf("Name", "contact_name"),)),
    ),
)

EQUIPMENT = Binding(
    TransportEquipment,
    (
        _id("equipment_id", "EquipmentIdentification", required=True),
        *leaves("CharacteristicCode SupplierPartyTypeCode FullnessCode"),
        LeafList("SealID", "seal_ids", xml_attr=("AgencyCode", "seal_agencies")),
        _id("bill_no", "TransportContractDocument"),
        Leaf("TotalPackageQuantity", "package_quantity", "int"),
        _mass("gross_mass"),
    ),
)

ITEM = Binding(
    ConsignmentItem,
    (
        Leaf("SequenceNumeric", "sequence_numeric", "int", required=True),
        Group(
            "ConsignmentItemPackaging",
            (
                Leaf("MarksNumbers", "marks_numbers"),
                Leaf("QuantityQuantity", "package_quantity", "int"),
                Leaf("TypeCode", "package_type_code"),
            ),
        ),
        Group(
            "Commodity",
            (
                Leaf("CargoDescription", "cargo_description", required=True),
                _id("hs_code", "Classification"),
                Leaf("UNDGCode", "undg_code"),
            ),
            required=True,
        ),
        Group("GoodsMeasure", (_mass("gross_mass", "GrossMassMeasure"),)),
        LeafList("EquipmentIdentification", "equipment_ids", inner="ID"),
    ),
)

TRANSPORT_CONTRACT = Group(
    "TransportContractDocument",
    (
        Leaf("ID", "bill_no", required=True),
        Leaf("ConditionCode", "condition_code"),
        _id("consolidator_id", "Consolidator"),
        Group("Amendment", (Leaf("ChangeReasonCode", "change_reason_code"),)),
    ),
    required=True,
)

PACKAGE_QTY = Leaf(
    "TotalPackageQuantity", "package_quantity", "int", xml_attrs=(("unitCode", "package_type_code"),)
)

MANIFEST_CONSIGNMENT = Binding(
    Consignment,
    (
        TRANSPORT_CONTRACT,
        _id("house_bill_no", "AssociatedTransportDocument"),
        Leaf("GrossVolumeMeasure", "gross_volume", "dec", const_attrs=(("unitCode", "MTQ"),)),
        Leaf("ValueAmount", "value_amount", "dec", xml_attrs=(("currencyID", "value_currency"),)),
        Leaf(
            "TotalPackageQuantity",
            "package_quantity",
            "int",
            required=True,
            xml_attrs=(("unitCode", "package_type_code"),),
        ),
        _mass("gross_mass", required=True),
        Leaf("CustomsStatusCode", "customs_status_code"),
        Group("FreightPayment", (Leaf("MethodCode", "freight_payment_method_code"),)),
        _id("loading_location_id", "LoadingLocation"),
        _id("unloading_location_id", "UnloadingLocation"),
        Group(
            "GoodsReceiptPlace",
            (
                Leaf("ID", "goods_receipt_place_id"),
                Leaf("Name", "goods_receipt_place_name"),
            ),
        ),
        Child("Consignor", "consignor", PARTY, required=True),
        Child("Consignee", "consignee", PARTY, required=True),
        Child("NotifyParty", "notify_party", PARTY),
        Child("TransportEquipment", "transport_equipment", EQUIPMENT, many=True),
        Child("ConsignmentItem", "items", ITEM, many=True),
    ),
)

BILL_CONSIGNMENT = Binding(
    Consignment,
    (
        TRANSPORT_CONTRACT,
        _id("house_bill_no", "AssociatedTransportDocument"),
        PACKAGE_QTY,
        _mass("gross_mass"),
        Child("TransportEquipment", "transport_equipment", EQUIPMENT, many=True),
    ),
)

TALLY_CONSIGNMENT = Binding(
    Consignment,
    (
        TRANSPORT_CONTRACT,
        Group(
            "ConsignmentPackaging",
            (
                Leaf("QuantityQuantity", "package_quantity", "int", required=True),
                Leaf("TypeCode", "package_type_code"),
            ),
        ),
        _mass("gross_mass"),
        Child("TransportEquipment", "transport_equipment", EQUIPMENT, many=True),
    ),
)

CONVEYANCE = Binding(
    BorderTransportMeans,
    (
        *leaves(
            "JourneyID=journey_id TypeCode ID=id Name FirstArrivalLocationID=first_arrival_location_id "
            "ArrivalDateTime DepartureDateTime ActualDateTime CompletedDateTime"
        ),
        _id("loading_location_id", "LoadingLocation"),
    ),
)


def _is_date(value: str) -> bool:
    return len(value) == 8


LOADING = Binding(
    Location,
    (
        Leaf("ID", "id", required=True),
        Choice("date_time", (("LoadingDate", _is_date), ("LoadingDateTime", lambda _v: True))),
    ),
)
UNLOADING = Binding(
    Location,
    (
        Leaf("ID", "id", required=True),
        Choice("date_time", (("ArrivalDate", _is_date), ("ArrivalDateTime", lambda _v: True))),
    ),
)
SITE = Binding(Site, leaves("ID!=id Name CustomsOfficeID=customs_office_id"))

# Declaration-level pieces, keyed by the names used in the per-type layouts below.
_PIECES = {
    "office": Leaf("DeclarationOfficeID", "declaration_office_id", required=True),
    "id": Leaf("ID", "id"),
    "info": Group("AdditionalInformation", (Leaf("Content", "additional_information"),)),
    "agent": _id("agent_id", "Agent"),
    "carrier": _id("carrier_id", "Carrier"),
    "exit": _id("exit_customs_office_id", "ExitCustomsOffice"),
    "rep": Group("RepresentativePerson", (Leaf("Name", "representative_person_name"),)),
    "btm": Child("BorderTransportMeans", "conveyance", CONVEYANCE),
    "load": Child("LoadingLocation", "loading_location", LOADING),
    "unload": Child("UnloadingLocation", "unloading_location", UNLOADING),
    "tally": _id("tally_party_id", "TallyParty"),
    "origin": Child("OriginSite", "origin_site", SITE),
    "dest": Child("DestinationSite", "destination_site", SITE),
    "equipment": Child("TransportEquipment", "transport_equipment", EQUIPMENT, many=True),
}


def _declaration(layout: str, consignment: Binding) -> Binding:
    nodes = [
        Child("Consignment", "consignments", consignment, many=True)
        if name == "consignments"
        else _PIECES[name]
        for name in layout.split()
    ]
    return Binding(ManifestDeclaration, tuple(nodes))


# Same element order as xsd/manifest/MTxxxx.xsd.
DECLARATIONS: dict[str, Binding] = {
    "MT1101": _declaration(
        "office id info agent carrier rep btm load unload consignments", MANIFEST_CONSIGNMENT
    ),
    "MT2101": _declaration(
        "office id info agent carrier exit rep btm load unload consignments", MANIFEST_CONSIGNMENT
    ),
    "MT3101": _declaration("office info btm unload consignments equipment", TALLY_CONSIGNMENT),
    "MT4101": _declaration("office info carrier exit btm load consignments", BILL_CONSIGNMENT),
    "MT5101": _declaration("office info btm unload tally consignments equipment", TALLY_CONSIGNMENT),
    "MT5102": _declaration("office info btm load tally consignments equipment", TALLY_CONSIGNMENT),
    "MT6101": _declaration("office id info btm unload origin dest consignments", BILL_CONSIGNMENT),
    "MT6102": _declaration("office id info btm unload origin dest consignments", BILL_CONSIGNMENT),
}

RESPONSE = Binding(
    ManifestResponse,
    (
        Child("Head", "head", HEAD, required=True),
        Group(
            "Response",
            (
                Leaf("ID", "response_id"),
                Group("BorderTransportMeans", (Leaf("JourneyID", "journey_id"), Leaf("ID", "conveyance_id"))),
                Child(
                    "Consignment",
                    "consignments",
                    Binding(
                        ConsignmentResponse,
                        (
                            _id("bill_no", "TransportContractDocument", required=True),
                            _id("house_bill_no", "AssociatedTransportDocument"),
                            Group(
                                "ResponseType",
                                (Leaf("Code", "code", required=True), Leaf("Text", "text")),
                                required=True,
                            ),
                        ),
                    ),
                    many=True,
                ),
                Child(
                    "TransportEquipment",
                    "equipment",
                    Binding(
                        EquipmentResponse,
                        (
                            _id("equipment_id", "EquipmentIdentification", required=True),
                            _id("bill_no", "TransportContractDocument"),
                            Group(
                                "ResponseType",
                                (Leaf("Code", "code", required=True), Leaf("Text", "text")),
                                required=True,
                            ),
                        ),
                    ),
                    many=True,
                ),
                Group(
                    "AdditionalInformation",
                    (
                        Leaf("StatementCode", "statement_code"),
                        Leaf("StatementDescription", "statement_description"),
                    ),
                ),
            ),
            required=True,
        ),
    ),
)


_WHOLE: dict[str, Binding] = {}


def binding_of(model: Manifest | ManifestResponse) -> Binding:
    """The whole-message binding (head + declaration) of a model, for the lossless check."""
    if isinstance(model, ManifestResponse):
        return RESPONSE
    mt = model.head.message_type
    if mt not in _WHOLE:
        _WHOLE[mt] = Binding(
            Manifest,
            (
                Child("Head", "head", HEAD),
                Child("Declaration", "declaration", DECLARATIONS[mt]),
            ),
        )
    return _WHOLE[mt]


def type_of(root: etree._Element) -> str:
    return etree.QName(root).namespace.removeprefix(MANIFEST_NS_PREFIX).removesuffix(":1")


def decode_tree(root: etree._Element) -> Manifest | ManifestResponse:
    mt = type_of(root)
    if mt == "MT9999":
        return decode_into(root, RESPONSE)
    head_el = root[0]
    decl_el = root[1]
    return Manifest(decode_into(head_el, HEAD), decode_into(decl_el, DECLARATIONS[mt]))


def schema_key(model: Manifest | ManifestResponse) -> str:
    return "MT9999" if isinstance(model, ManifestResponse) else model.head.message_type


def build_tree(model: Manifest | ManifestResponse) -> etree._Element:
    mt = schema_key(model)
    if mt not in DECLARATIONS and mt != "MT9999":
        from messages.errors import UnknownMessageType

        raise UnknownMessageType(f"manifest message type {mt!r} is not supported")
    ns = manifest_ns(mt)
    root = etree.Element(f"{{{ns}}}Manifest", nsmap={None: ns})
    if isinstance(model, ManifestResponse):
        encode_into(root, model, RESPONSE, ns)
        return root
    encode_into(etree.SubElement(root, f"{{{ns}}}Head"), model.head, HEAD, ns)
    encode_into(etree.SubElement(root, f"{{{ns}}}Declaration"), model.declaration, DECLARATIONS[mt], ns)
    return root


def semantic_issues(model: Manifest | ManifestResponse) -> list[ValidationIssue]:
    issues: list[ValidationIssue] = []
    if isinstance(model, ManifestResponse):
        return issues
    # Request messages: the namespace (schema) decides the type, so Head must not claim another one.
    # (Checked on the model: build_tree derives the namespace from head.message_type, so a mismatch
    # can only come from a decoded document, where decode_tree keeps the Head text as sent.)
    decl = model.declaration
    for i, cons in enumerate(decl.consignments, start=1):
        numbers = [item.sequence_numeric for item in cons.items]
        if numbers != list(range(1, len(numbers) + 1)):
            issues.append(
                ValidationIssue(
                    f"/Manifest/Declaration/Consignment[{i}]",
                    f"ConsignmentItem/SequenceNumeric must run 1..n, got {numbers[:20]}",
                    code="goods_numbering",
                )
            )
        boxes = {te.equipment_id for te in cons.transport_equipment}
        for j, item in enumerate(cons.items, start=1):
            unknown = [e for e in item.equipment_ids if boxes and e not in boxes]
            if unknown:
                issues.append(
                    ValidationIssue(
                        f"/Manifest/Declaration/Consignment[{i}]/ConsignmentItem[{j}]/EquipmentIdentification",
                        f"containers {unknown} are not listed in this consignment's TransportEquipment",
                        code="unknown_reference",
                    )
                )
    return issues


def head_type_issues(root: etree._Element) -> list[ValidationIssue]:
    """Head/MessageType must equal the namespace's type on request messages."""
    mt = type_of(root)
    if mt == "MT9999":
        return []
    head = root[0]
    found = next((c for c in head if etree.QName(c).localname == "MessageType"), None)
    if found is not None and found.text != mt:
        return [
            ValidationIssue(
                "/Manifest/Head/MessageType",
                f"MessageType {found.text!r} does not match the document namespace ({mt})",
                found.sourceline,
                code="type_mismatch",
            )
        ]
    return []
