"""Issue 14 item 7: every problem in one answer. A declaration with a schema, a semantic and a business
problem is refused once with all three, each with its layer, a code and the element path in the
document as sent plus its line; a schema problem in the structure says the later layers were not run.
Nothing of a refused message is stored. SQLite and PostgreSQL, in-process bus."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from messages.errors import CODES
from messages.xml import encode
from simulators.customs.traffic import Shipment, declaration
from tests.hub_clearance.clrfixtures import KEYS
from tests.hub_clearance.clrgaps import hub_env
from tests.hub_clearance.test_clear_flow_api import get, post

STRANGER = "91370200M3C0TRD07B"  # a consignee that entrusted nobody
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    with hub_env(db_url, tmp_path, monkeypatch) as environment:
        yield environment


def line_of(doc: bytes, tag: str, nth: int = 1) -> int:
    """1-based line of the nth <tag> in the document as sent."""
    starts = [m.start() for m in re.finditer(rf"<{tag}>".encode(), doc)]
    return doc[: starts[nth - 1]].count(b"\n") + 1


def three_problems(seq: str) -> tuple[bytes, bytes]:
    """(the declaration with one problem per layer, the same declaration put right)."""
    s = Shipment.make(141, containers=1)
    good = declaration("summary", s, seq)
    good_xml = encode(good)
    bad = declaration("summary", s, seq)
    bad.head.trade_co_scc = STRANGER  # business: this consignee entrusted nobody
    bad_xml = (
        encode(bad)
        .replace(f"<GrossWet>{s.gross_kg}</GrossWet>".encode(), b"<GrossWet>heavy</GrossWet>")  # schema
        .replace(b"<GoodsNo>1,2</GoodsNo>", b"<GoodsNo>1,2,9</GoodsNo>")  # semantic: no goods line 9
    )
    assert b"heavy" in bad_xml and b"1,2,9" in bad_xml
    return bad_xml, good_xml


def submit(client: TestClient, body: bytes, path: str = "/api/v1/messages") -> Any:
    return client.post(path, content=body, headers={"X-API-Key": KEYS["broker"]})


def test_schema_semantic_and_business_problems_come_in_one_answer(env: dict[str, Any]) -> None:
    client = env["client"]
    bad, good = three_problems("L26120300000000001")
    answer = submit(client, bad)
    assert answer.status_code == 400, answer.text  # the first failing layer's status, as before
    error = answer.json()["error"]
    assert error["code"] == "bad_request"
    by_layer = {d["layer"]: d for d in error["details"]}
    assert len(error["details"]) == 3 and set(by_layer) == {"schema", "semantic", "business"}, error
    assert by_layer["schema"] | {"message": ""} == {
        "layer": "schema",
        "code": "invalid_value",
        "location": "/DecMessage/DecHead/GrossWet",
        "line": line_of(bad, "GrossWet"),
        "message": "",
    }
    assert by_layer["semantic"]["code"] == "unknown_reference"
    assert by_layer["semantic"]["location"] == "/DecMessage/DecContainers/Container/GoodsNo"
    assert by_layer["semantic"]["line"] == line_of(bad, "GoodsNo")
    assert by_layer["business"]["code"] == "not_entrusted"
    assert by_layer["business"]["location"] == "/DecMessage/DecHead/TradeCoScc"
    assert by_layer["business"]["line"] == line_of(bad, "TradeCoScc")
    assert error["layers"] == [
        {"layer": "schema", "run": True, "problems": 1},
        {"layer": "semantic", "run": True, "problems": 1},
        {"layer": "business", "run": True, "problems": 1},
    ]
    assert "1 schema, 1 semantic, 1 business" in error["message"]

    # refused whole: archived as rejected, no declaration, nothing to customs, the ClientSeqNo free
    assert get(client, "broker", "/api/v1/declarations") == []
    assert [m["status"] for m in get(client, "broker", "/api/v1/messages")] == ["rejected"]
    assert not env["customs"].of("DecMessage")
    assert post(client, "broker", good)["state"]


def test_a_schema_problem_in_the_structure_says_the_later_layers_were_not_run(env: dict[str, Any]) -> None:
    client = env["client"]
    bad, _ = three_problems("L26120300000000002")
    broken = re.sub(rb"<IEFlag>I</IEFlag>\s*", b"", bad)  # a required element missing
    answer = submit(client, broken)
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert {d["layer"] for d in error["details"]} == {"schema"}
    assert all(d["location"].startswith("/DecMessage/DecHead") and d["line"] for d in error["details"])
    schema, semantic, business = error["layers"]
    assert schema["run"] and not semantic["run"] and not business["run"]
    assert "required element is missing" in semantic["reason"] and "not run" in error["message"]

    unreadable = submit(client, bad[: len(bad) // 2])  # cut off: not even a document
    assert unreadable.status_code == 400
    detail = unreadable.json()["error"]["details"][0]
    assert detail["code"] == "not_well_formed" and detail["line"]
    assert [entry["run"] for entry in unreadable.json()["error"]["layers"]] == [True, False, False]


def test_business_problems_alone_keep_their_status_and_the_same_location_format(env: dict[str, Any]) -> None:
    client = env["client"]
    s = Shipment.make(142, containers=1)
    decl = declaration("summary", s, "L26120300000000003", declarant=STRANGER)
    body = encode(decl)
    answer = submit(client, body)
    assert answer.status_code == 422, answer.text
    detail = answer.json()["error"]["details"][0]
    assert detail == {
        "layer": "business",
        "code": "not_declarant",
        "location": "/DecMessage/DecHead/AgentCodeScc",
        "line": line_of(body, "AgentCodeScc"),
        "message": detail["message"],
    }


def test_validate_gives_the_same_answer_without_storing_anything(env: dict[str, Any]) -> None:
    client = env["client"]
    bad, good = three_problems("L26120300000000004")
    plain = submit(client, bad, "/api/v1/validate")
    assert plain.status_code == 422, plain.text
    assert [d["layer"] for d in plain.json()["error"]["details"]] == ["schema", "semantic"]
    assert plain.json()["error"]["layers"][2]["run"] is False  # business only when asked

    full = submit(client, bad, "/api/v1/validate?business=true")
    assert full.status_code == 422, full.text
    submitted = submit(client, bad).json()["error"]["details"]
    assert full.json()["error"]["details"] == submitted  # the answer /messages gives
    assert submit(client, good, "/api/v1/validate?business=true").json() == {"valid": True, "issues": []}
    assert get(client, "broker", "/api/v1/declarations") == []


def test_every_code_is_documented() -> None:
    text = (REPO / "docs" / "errors.md").read_text(encoding="utf-8")
    assert [code for code in CODES if f"`{code}`" not in text] == []
    assert "docs/errors.md" in (REPO / "README.md").read_text(encoding="utf-8")
