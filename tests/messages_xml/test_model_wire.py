"""messages.models.wire: the canonical models as closed, type-tagged JSON (issue 13, one decode per
message), and convert() handing back the model it encoded."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from messages import xml
from messages.convert import convert
from messages.detect import detect
from messages.models import wire
from messages.models.notices import InspectionOutcome

ROOT = Path(__file__).resolve().parents[2]
XML_FILES = sorted((ROOT / "tests/messages_xml/samples").glob("*.xml")) + sorted(
    (ROOT / "examples").glob("0[0-5]*.xml")
)
EDI_FILES = sorted((ROOT / "examples").glob("*.edi"))


@pytest.mark.parametrize("path", XML_FILES, ids=lambda p: p.name)
def test_round_trip_gives_an_equal_model(path: Path) -> None:
    model = xml.decode(path.read_bytes())
    back, extra = wire.loads(wire.dumps(model))
    assert back == model and type(back) is type(model)
    assert extra == {}


def test_decimals_keep_their_digits_and_enums_their_type() -> None:
    model = xml.decode((ROOT / "tests/messages_xml/samples/InspectionNotice.xml").read_bytes())
    back, _ = wire.loads(wire.dumps(model))
    assert isinstance(back.outcome, InspectionOutcome)
    assert back.issued_at == model.issued_at and back.issued_at.tzinfo is not None
    decl = xml.decode((ROOT / "tests/messages_xml/samples/DecMessage_complete.xml").read_bytes())
    decl.items[0].decl_price = Decimal("1.50")
    again, _ = wire.loads(wire.dumps(decl))
    assert str(again.items[0].decl_price) == "1.50"


def test_extra_values_travel_beside_the_model() -> None:
    model = xml.decode((ROOT / "tests/messages_xml/samples/MT9999.xml").read_bytes())
    _, extra = wire.loads(wire.dumps(model, xml="<x/>"))
    assert extra == {"xml": "<x/>"}


def _doc(model: object) -> dict:
    return {"v": wire.VERSION, "model": model}


@pytest.mark.parametrize(
    "doc",
    [
        _doc({"$t": "Popen", "args": ["sh"]}),  # not a canonical class
        _doc({"$t": "subprocess.Popen"}),
        _doc({"$t": "DecImportResponse", "response_code": "0", "__class__": "x"}),  # unknown field
        _doc({"$t": "DecImportResponse"}),  # a required field missing
        _doc({"$t": "DecImportResponse", "response_code": {"$d": "1e"}}),
        _doc({"$t": "DecImportResponse", "response_code": {"$e": "Path", "v": "/"}}),
        _doc({"$t": "InspectionCheck", "code": {"$e": "InspectionOutcome", "v": "EXPLODED"}}),
        _doc({"$t": "DecImportResponse", "response_code": {"x": 1}}),
        _doc({"$t": "DecImportResponse", "response_code": 7}),  # a field of the wrong type
        _doc({"$t": "DecResult", "pack_no": "12"}),
        _doc({"$t": "DecResult", "pack_no": True}),
        _doc({"$t": "DecResult", "net_wt": 1.5}),  # a float is not a Decimal
        _doc({"$t": "DecResultReceipt", "result": {"$t": "DecImportResponse", "response_code": "0"}}),
        _doc({"$t": "ManifestResponse", "head": None}),
        _doc({"$t": "InspectionCheck", "code": ["QTY"]}),
        _doc({"$d": "1"}),  # not a model at the top
        {"v": 99, "model": {"$t": "DecImportResponse", "response_code": "0"}},
        [1, 2],
    ],
)
def test_anything_but_a_canonical_model_is_refused(doc: object) -> None:
    with pytest.raises(wire.WireError):
        wire.loads(json.dumps(doc).encode())


def test_non_json_and_non_models_are_refused() -> None:
    with pytest.raises(wire.WireError):
        wire.loads(b"\x80\x04\x95 pickle")
    with pytest.raises(wire.WireError):
        wire.dumps(Path("/"))
    with pytest.raises(wire.WireError):
        wire.loads(b"[" * 100_000 + b"]" * 100_000)  # nesting deeper than the JSON reader goes


@pytest.mark.parametrize("path", EDI_FILES, ids=lambda p: p.name)
def test_convert_returns_the_model_its_xml_decodes_to(path: Path) -> None:
    """Intake uses the mapped model instead of parsing its own XML: they must be the same."""
    for doc in convert(path.read_bytes(), to="xml"):
        assert doc.model is not None
        assert doc.model == xml.decode(doc.content)
        assert doc.message_type == detect(doc.content).message_type
        assert doc.model_xml == doc.content  # no partner envelope asked for: the same bytes


def test_every_canonical_model_module_is_on_the_allow_list() -> None:
    """A model module added later (the gate-out report was) must travel too, or intake of its
    messages fails with 'not a canonical model'."""
    import pkgutil

    import messages.models as package

    names = {m.name for m in pkgutil.iter_modules(package.__path__)} - {"wire"}
    assert names == {module.__name__.rsplit(".", 1)[-1] for module in wire._MODULES}
