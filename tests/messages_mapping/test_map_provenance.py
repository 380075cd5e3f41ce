"""Issue 11: the field -> input segment map of a conversion (messages.mapping.provenance), and the
locator that turns a path in the converted XML into the sender's segment and qualifier."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from messages import edifact, xml
from messages.convert import convert
from messages.mapping.provenance import Origins
from messages.partners import Partner, load_partners_file, select_profile, sniff_unb_sender
from messages.xml import declaration as dec
from messages.xml import manifest as mft
from messages.xml import samples
from messages.xml.binding import field_path
from messages.xml.layers import FieldLocator

CORPUS = Path(__file__).parents[1] / "partners_corpus"
PROFILES = load_partners_file(CORPUS / "partners.yaml")


def _converted(data: bytes, partner: Partner | None = None) -> tuple[FieldLocator, edifact.EdifactMessage]:
    partner = partner or select_profile(PROFILES, sniff_unb_sender(data)) or Partner()
    origins: list[Origins] = []
    [doc] = convert(data, partner=partner, origins=origins)
    model = xml.decode(doc.content)
    binding = dec.DECLARATION if doc.message_type == "DecMessage" else mft.binding_of(model)
    root = "DecMessage" if doc.message_type == "DecMessage" else "Manifest"
    return FieldLocator(origins[0], binding, root), edifact.read(data).messages[0]


def _position(message: edifact.EdifactMessage, tag: str, qualifier: str, nth: int = 0) -> int:
    found = [n for n, s in enumerate(message.segments, 2) if s.tag == tag and s.get(0) == qualifier]
    return found[nth]


def test_xml_paths_name_the_bound_field() -> None:
    binding = mft.binding_of(samples.mt5101())
    assert field_path(binding, "Declaration/Consignment[2]/TransportContractDocument/ID") == (
        "declaration.consignments.1.bill_no"
    )
    assert field_path(binding, "Declaration/UnloadingLocation/ID") == "declaration.unloading_location.id"
    assert field_path(binding, "Declaration/NoSuchElement") is None
    assert field_path(dec.DECLARATION, "DecLists/DecList[2]/GName") == "items.1.g_name"
    assert field_path(dec.DECLARATION, "DecHead/TradeCoScc") == "head.trade_co_scc"


def test_coarri_fields_are_located_at_their_segments_and_enriched_ones_at_the_profile() -> None:
    data = (CORPUS / "edifact" / "coarri_smdg_d13b_discharge.edi").read_bytes()
    locator, message = _converted(data)
    ref = message.ref
    bill = "/Manifest/Declaration/Consignment/TransportContractDocument/ID"  # absolute works too
    assert locator.locate(bill) == (f"message {ref} segment {_position(message, 'RFF', 'BM')} RFF+BM", None)
    site = locator.locate("Declaration/UnloadingLocation/ID")[0]
    assert site == f"message {ref} segment {_position(message, 'LOC', '11')} LOC+11"
    # the terminal sends no LOC+22: the office came from the partner profile, and the location says so
    office = locator.locate("Declaration/DeclarationOfficeID")[0]
    assert office.startswith(f"message {ref} (COARRI) has no LOC+22") and "defaults.customs_office" in office
    # a field the message does not carry: the enclosing group, or the message, and how to add it
    missing = locator.locate("Declaration/Consignment[9]/TransportContractDocument/ID")[0]
    assert missing == f"message {ref} (COARRI) (not in the message: RFF+BM in the container's EQD group)"
    assert locator.locate("")[0] == f"message {ref} (COARRI)"


def test_cuscar_bill_party_and_header_fields() -> None:
    data = (CORPUS / "edifact" / "cuscar_carrier_d13b_unoc4.edi").read_bytes()
    locator, message = _converted(data)
    ref = message.ref
    where = locator.locate("Declaration/Consignment/TransportContractDocument/ID")[0]
    assert where == f"message {ref} segment {_position(message, 'RFF', 'BM')} RFF+BM"
    consignee = locator.locate("Declaration/Consignment/Consignee/Name")[0]  # via the party's NAD
    assert consignee == f"message {ref} segment {_position(message, 'NAD', 'CN')} NAD+CN"
    assert (
        locator.locate("Head/SendTime")[0]
        == f"message {ref} segment {_position(message, 'DTM', '137')} DTM+137"
    )


@pytest.mark.parametrize("directory", ["D95B", "D13B"])
def test_cusdec_head_fields_are_located_at_their_zzz_reference_or_party(directory: str) -> None:
    partner = replace(Partner(), directory=directory)
    [edi] = convert(xml.encode(samples.declaration("summary")), partner=partner)
    locator, message = _converted(edi.content, partner)
    ref = message.ref
    scc = [n for n, s in enumerate(message.segments, 2) if s.tag == "RFF" and s.get(0, 3) == "scc"]
    nad_im = _position(message, "NAD", "IM")
    assert locator.locate("DecHead/TradeCoScc")[0] == f"message {ref} segment {nad_im + 1} RFF+ZZZ::scc"
    assert nad_im + 1 in scc
    seq = locator.locate("DecSign/ClientSeqNo")[0]
    assert seq.startswith(f"message {ref} segment ") and seq.endswith("RFF+ZZZ::sign.client_seq_no")
    assert locator.locate("DecHead/IEFlag")[0] == f"message {ref} segment 2 BGM"
    assert locator.locate("DecLists/DecList/GName")[0].endswith("FTX+AAA")


def test_plain_conversions_record_nothing() -> None:
    data = (CORPUS / "edifact" / "coarri_smdg_d13b_discharge.edi").read_bytes()
    partner = select_profile(PROFILES, sniff_unb_sender(data)) or Partner()
    assert convert(data, partner=partner) == convert(data, partner=partner, origins=[])


@pytest.mark.parametrize(("sample", "kind"), [("mt1101", "CUSCAR"), ("mt5101", "COARRI")])
def test_the_kth_bill_of_a_message_is_located_at_its_own_rff_bm(sample: str, kind: str) -> None:
    model = getattr(samples, sample)()
    first = model.declaration.consignments[0]
    if len(model.declaration.consignments) == 1:  # a second bill with boxes of its own
        boxes = [
            replace(b, equipment_id=samples.container_no("TGH", 770000 + n))
            for n, b in enumerate(first.transport_equipment)
        ]
        second = replace(first, bill_no=first.bill_no[:-1] + "9", transport_equipment=boxes)
        model.declaration.consignments.append(second)
    [edi] = convert(xml.encode(model))
    locator, message = _converted(edi.content, Partner())
    assert message.type == kind
    bills = [c.bill_no for c in model.declaration.consignments]
    assert len(bills) > 1
    for k, bill in enumerate(bills, 1):
        where = locator.locate(f"Declaration/Consignment[{k}]/TransportContractDocument/ID")[0]
        n = int(where.split()[3])  # message <ref> segment <n> RFF+BM
        rff = message.segments[n - 2]
        assert where.endswith("RFF+BM") and (rff.tag, rff.get(0), rff.get(0, 1)) == ("RFF", "BM", bill)


@pytest.mark.parametrize("directory", ["D95B", "D96B", "D13B"])
def test_cusres_bills_are_located_at_their_rff_or_doc_group(directory: str) -> None:
    partner = replace(Partner(), directory=directory)
    model = samples.mt9999()
    [edi] = convert(xml.encode(model), partner=partner)
    origins: list[Origins] = []
    convert(edi.content, partner=partner, origins=origins)
    message = edifact.read(edi.content).messages[0]
    for k, c in enumerate(model.consignments):
        where = origins[0].locate(f"consignments.{k}.bill_no")
        n = int(where.split()[3])
        seg = message.segments[n - 2]
        assert (seg.get(0), seg.get(0, 1)) == ("BM", c.bill_no) or (seg.get(0), seg.get(1)) == (
            "705",
            c.bill_no,
        )
