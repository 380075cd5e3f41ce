"""Issue 11: the hub's intake picks the authenticated party's partner profile (match.party), else
the UNB sender's (match.unb_sender), so a terminal's COARRI is enriched with its defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.services.intake import partner_profile_for
from messages.convert import convert

CORPUS = Path(__file__).parents[1] / "partners_corpus"
COARRI = (CORPUS / "edifact" / "coarri_smdg_d95b_discharge_loading.edi").read_bytes()


def test_profile_by_party_then_unb_sender(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "partners.yaml"
    f.write_text(
        "partners:\n"
        "  genoa: {match: {unb_sender: ITGOACSCT}, defaults: {customs_office: '4227', "
        "tally_party: T1, unloading_location: CNTAO}}\n"
        "  port: {match: {party: '91370200163562681G'}, defaults: {customs_office: '4200'}}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("SWHUB_PARTNERS_FILE", str(f))
    assert partner_profile_for("91370200163562681G", COARRI).name == "port"
    genoa = partner_profile_for("OTHER", COARRI)
    assert genoa.name == "genoa"
    assert [d.message_type for d in convert(COARRI, to="xml", partner=genoa)] == ["MT5101", "MT5102"]
    monkeypatch.setenv("SWHUB_PARTNERS_FILE", str(tmp_path / "absent.yaml"))
    assert partner_profile_for("OTHER", COARRI) is None
