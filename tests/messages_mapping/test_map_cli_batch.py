"""swhub convert as integrators call it: a real process, -o prints the file written (issue 14.12),
several inputs or a directory, the partner profile picked by the UNB sender (SWHUB_PARTNERS_FILE),
and the fast start (no hub-wide imports). POST /convert|/validate with curl's default Content-Type."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from hub.api.app import create_app
from hub.bus.memory import InProcessBus
from hub.runtime import Hub
from messages import xml
from messages.xml import samples
from tests.hub.hubfixtures import KEYS, settings_for

ROOT = Path(__file__).resolve().parents[2]
SWHUB = Path(sys.executable).parent / "swhub"


def _swhub(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SWHUB), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        timeout=60,
    )


def test_convert_o_prints_the_file_it_wrote(tmp_path: Path) -> None:
    src = tmp_path / "m.xml"
    src.write_bytes(xml.encode(samples.mt5101()))
    out = tmp_path / "out.edi"
    done = _swhub("convert", str(src), "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(out) and out.read_bytes().startswith(b"UNA")


def test_convert_takes_several_inputs_and_a_directory(tmp_path: Path) -> None:
    inbox = tmp_path / "in"
    inbox.mkdir()
    (inbox / "a.xml").write_bytes(xml.encode(samples.mt5101()))
    (inbox / "b.xml").write_bytes(xml.encode(samples.mt5102()))
    out = tmp_path / "out"
    done = _swhub("convert", str(inbox), "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["a.edi", "b.edi"]
    assert "[" not in done.stderr  # no progress bar when stderr is not a terminal
    assert sorted(done.stdout.split()) == [str(out / "a.edi"), str(out / "b.edi")]


def test_profile_is_chosen_by_unb_sender_from_swhub_partners_file(tmp_path: Path) -> None:
    profiles = tmp_path / "partners.yaml"
    profiles.write_text(
        "partners:\n  legacy:\n    match: {unb_sender: CNTAOQQCT}\n    encoding: gbk\n", encoding="utf-8"
    )
    text = samples.mt5101()
    edi = tmp_path / "in.edi"
    edi.write_bytes(
        xml_to_edi(text)
        .replace(b"UNOY", b"UNOC")
        .replace(b"+4227370212345:", b"+CNTAOQQCT:")
        .decode("utf-8")
        .encode("gbk")
    )
    env = {"SWHUB_PARTNERS_FILE": str(profiles)}
    chosen = _swhub("convert", str(edi), "-o", str(tmp_path / "y.xml"), env=env)
    assert chosen.returncode == 0, chosen.stderr
    # GBK bytes declared UNOC: only the matched profile's encoding reads the remark right
    assert "理货正常" in (tmp_path / "y.xml").read_text(encoding="utf-8")
    without = _swhub("convert", str(edi), "-o", str(tmp_path / "x.xml"))
    assert without.returncode != 0 or "理货正常" not in (tmp_path / "x.xml").read_text(encoding="utf-8")


def xml_to_edi(model: object) -> bytes:
    from messages.convert import convert

    return convert(xml.encode(model))[0].content


def test_convert_does_not_import_the_hub() -> None:
    code = (
        "import sys; sys.argv=['swhub','convert','x']\n"
        "import hub.cli.main as m, hub.cli.convert, messages.convert\n"
        "heavy = [n for n in ('pandas','sqlalchemy','httpx','fastapi','typer') if n in sys.modules]\n"
        "print(','.join(heavy))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "", done.stdout + done.stderr


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    hub = Hub(settings_for(f"sqlite:///{tmp_path / 'hub.db'}", tmp_path), bus=InProcessBus())
    with TestClient(create_app(hub)) as test_client:
        yield test_client


def test_api_accepts_curls_default_content_type(client: TestClient) -> None:
    key = {"X-API-Key": KEYS["broker"]}
    body = xml.encode(samples.mt5101())
    form = {**key, "Content-Type": "application/x-www-form-urlencoded"}
    assert client.post("/api/v1/validate", content=body, headers=form).json() == {"valid": True, "issues": []}
    answer = client.post("/api/v1/convert", content=body, headers=form)
    assert answer.status_code == 200 and answer.content.startswith(b"UNA")
    png = {**key, "Content-Type": "image/png"}
    assert client.post("/api/v1/convert", content=body, headers=png).status_code == 415
