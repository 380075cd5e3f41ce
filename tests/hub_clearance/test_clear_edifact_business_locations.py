"""Issue 11: business problems of an EDIFACT message name the sender's segment and qualifier
(`message 7 segment 12 RFF+BM`), never a path in the XML the hub converted it to. The intake's
business checks (bill ownership, site of a tally) run on the converted document; the conversion's
field -> segment map (messages.mapping.provenance) places each problem back in the input."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from messages import edifact
from messages.convert import convert
from simulators.customs.traffic import Shipment, manifest_xml, tally_xml
from tests.hub_clearance.clrfixtures import wait_for
from tests.hub_clearance.clrgaps import hub_env
from tests.hub_clearance.test_clear_authority import refused, timeline
from tests.hub_clearance.test_clear_flow_api import post


@pytest.fixture
def env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    with hub_env(db_url, tmp_path, monkeypatch) as environment:
        yield environment


def _at(edi: bytes, tag: str, qualifier: str) -> str:
    """`message <ref> segment <n> TAG+Q` of the first such segment (UNH is segment 1)."""
    message = edifact.read(edi).messages[0]
    n = next(n for n, s in enumerate(message.segments, 2) if s.tag == tag and s.get(0) == qualifier)
    return f"message {message.ref} segment {n} {tag}+{qualifier}"


def test_a_cuscar_for_another_partys_bill_is_refused_at_its_rff_bm(env: dict[str, Any]) -> None:
    client = env["client"]
    s = Shipment.make(141)
    post(client, "broker", manifest_xml(s))
    wait_for(lambda: env["customs"].of("MT1101"), "the owner's manifest forwarded")

    [cuscar] = convert(manifest_xml(s).replace(b"CNTAO/4227", b"CNRZH/4228"))
    error = refused(client, "other_broker", cuscar.content, 409)
    [detail] = error["details"]
    assert detail["code"] == "not_bill_owner" and s.bill_no in detail["message"]
    assert detail["location"] == _at(cuscar.content, "RFF", "BM")
    assert "Consignment" not in detail["location"] and detail["line"] is None


def test_a_coarri_tally_for_a_site_not_yours_is_refused_at_its_loc_11(env: dict[str, Any]) -> None:
    client = env["client"]
    s = Shipment.make(142, containers=1)
    post(client, "broker", manifest_xml(s))
    wait_for(lambda: timeline(client, s.bill_no), "manifest applied")

    [coarri] = convert(tally_xml(s.bill_no, s.containers[0]))
    assert edifact.read(coarri.content).messages[0].type == "COARRI"
    error = refused(client, "other_tally", coarri.content, 403)
    [detail] = error["details"]
    assert detail["code"] == "site_not_registered"
    assert detail["location"] == _at(coarri.content, "LOC", "11")
    assert "UnloadingLocation" not in detail["location"]
