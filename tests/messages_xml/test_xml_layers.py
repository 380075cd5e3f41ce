"""messages.xml.layers (issue 14 item 7): schema problems in leaves leave a usable model, so the
semantic rules still run; every location is the element's path in the document as sent, with its
line, transport envelope included; problems in the structure leave no model and say why."""

from __future__ import annotations

from lxml import etree

from messages.xml import encode, samples, validate
from messages.xml.layers import check_layers
from messages.xml.normalise import build_mft_message

NS = {"m": "urn:Declaration:datamodel:standard:CN:MT1101:1"}


def broken_manifest() -> etree._Element:
    """MT1101, 3 bills: bill 2's volume is not a number (schema), bill 3's items are numbered 1, 1
    (semantic)."""
    root = etree.fromstring(encode(samples.mt1101(3, 2)))
    consignments = root.findall("m:Declaration/m:Consignment", NS)
    consignments[1].find("m:GrossVolumeMeasure", NS).text = "lots"
    numbers = consignments[2].findall("m:ConsignmentItem/m:SequenceNumeric", NS)
    assert len(numbers) >= 2
    numbers[1].text = "1"
    return root


def lines(doc: bytes) -> dict[str, int]:
    tree = etree.fromstring(doc)
    return {tree.getroottree().getpath(el): el.sourceline for el in tree.iter()}


def test_a_leaf_schema_problem_still_runs_the_semantic_rules_with_the_senders_lines() -> None:
    doc = etree.tostring(broken_manifest(), xml_declaration=True, encoding="UTF-8", pretty_print=True)
    layered = check_layers(doc)
    assert layered.usable and not layered.not_run
    found = {(i.layer, i.kind, i.location) for i in layered.issues}
    assert found == {
        ("schema", "invalid_value", "/Manifest/Declaration/Consignment[2]/GrossVolumeMeasure"),
        ("semantic", "goods_numbering", "/Manifest/Declaration/Consignment[3]"),
    }
    tree = etree.fromstring(doc)
    cons = tree.findall("m:Declaration/m:Consignment", NS)
    by_layer = {i.layer: i for i in layered.issues}
    assert by_layer["schema"].line == cons[1].find("m:GrossVolumeMeasure", NS).sourceline
    assert by_layer["semantic"].line == cons[2].sourceline
    assert len(layered.model.declaration.consignments) == 3  # the model lacks only the bad value
    assert validate(doc) == layered.issues  # messages.xml.validate reports both layers too


def test_inside_the_transport_envelope_the_path_is_the_senders() -> None:
    envelope = build_mft_message(broken_manifest(), "MT1101", {"MessageID": "X1"})
    doc = etree.tostring(envelope, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    locations = sorted(i.location for i in check_layers(doc).issues)
    assert locations == [
        "/MFTMessage/MFTData/Manifest/Declaration/Consignment[2]/GrossVolumeMeasure",
        "/MFTMessage/MFTData/Manifest/Declaration/Consignment[3]",
    ]


def test_a_problem_in_the_structure_leaves_no_model_and_says_why() -> None:
    root = broken_manifest()
    head = root.find("m:Head", NS)
    root.remove(head)  # a required wrapper gone: nothing to read a manifest from
    layered = check_layers(etree.tostring(root))
    assert not layered.usable and "structure" in layered.not_run
    assert {i.layer for i in layered.issues} == {"schema"}
