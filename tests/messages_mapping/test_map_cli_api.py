"""`swhub convert` / `swhub validate` and POST /api/v1/convert|validate as thin wrappers."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from hub.api.app import create_app
from hub.bus.memory import InProcessBus
from hub.cli.main import app as cli
from hub.runtime import Hub
from messages import xml
from messages.edifact import write
from messages.mapping import model_to_interchange
from messages.mapping.testing import manifest_cuscar_bytes
from messages.xml import samples
from tests.hub.hubfixtures import KEYS, settings_for

runner = CliRunner()


def test_cli_converts_both_ways_and_writes_one_file_per_message(tmp_path: Path) -> None:
    edi = tmp_path / "in.edi"
    edi.write_bytes(manifest_cuscar_bytes(3))
    result = runner.invoke(cli, ["convert", str(edi)])
    assert result.exit_code == 0 and "<Manifest" in result.stdout
    mt = tmp_path / "m.xml"
    mt.write_bytes(xml.encode(samples.mt5101()))
    out = tmp_path / "out.edi"
    assert runner.invoke(cli, ["convert", str(mt), "-o", str(out)]).exit_code == 0
    assert b"COARRI" in out.read_bytes()
    both = tmp_path / "two.edi"
    both.write_bytes(write(model_to_interchange([samples.mt5101(), samples.mt5102()])))
    result = runner.invoke(cli, ["convert", str(both), "-o", str(tmp_path / "docs")])
    assert result.exit_code == 0
    assert sorted(p.name for p in (tmp_path / "docs").iterdir()) == ["1-MT5101.xml", "2-MT5102.xml"]
    assert runner.invoke(cli, ["validate", str(mt)]).stdout.strip() == "valid"


def test_cli_prints_every_error_with_location_and_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.edi"
    bad.write_bytes(manifest_cuscar_bytes(3).replace(b"GID+1+", b"GID+X+").replace(b"RFF+BM", b"RFF+XX"))
    proc = subprocess.run(
        [sys.executable, "-m", "hub.cli.main", "convert", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) >= 3 and all(line.startswith("error: message 1 ") for line in lines)
    proc = subprocess.run(
        [sys.executable, "-m", "hub.cli.main", "validate", "-"],
        input="garbage",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0 and "Traceback" not in proc.stderr and proc.stderr.startswith("error: ")


def test_cli_partner_profile_sets_bgm_code_and_charset(tmp_path: Path) -> None:
    profiles = tmp_path / "partners.yaml"
    profiles.write_text(
        "partners:\n  rzport:\n    syntax_id: UNOC\n    encoding: gbk\n"
        "    bgm_codes: {COARRI_loading: '270'}\n",
        encoding="utf-8",
    )
    mt = tmp_path / "m.xml"
    mt.write_bytes(xml.encode(samples.mt5102()))
    out = tmp_path / "o.edi"
    args = ["convert", str(mt), "-o", str(out), "--partner", "rzport", "--partners-file", str(profiles)]
    assert runner.invoke(cli, args).exit_code == 0
    assert b"BGM+270+" in out.read_bytes() and "理货".encode("gbk") in out.read_bytes()
    assert runner.invoke(
        cli, ["convert", str(mt), "--partner", "nobody", "--partners-file", str(profiles)]
    ).exit_code


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    hub = Hub(settings_for(f"sqlite:///{tmp_path / 'hub.db'}", tmp_path), bus=InProcessBus())
    with TestClient(create_app(hub)) as test_client:
        yield test_client


def test_api_convert_and_validate(client: TestClient) -> None:
    key = {"X-API-Key": KEYS["broker"]}
    edi = manifest_cuscar_bytes(2)
    answer = client.post(
        "/api/v1/convert", content=edi, headers={**key, "Content-Type": "application/EDIFACT"}
    )
    assert answer.status_code == 200 and answer.headers["X-Message-Type"] == "MT1101"
    assert xml.decode(answer.content).head.message_type == "MT1101"
    back = client.post(
        "/api/v1/convert?target=edifact",
        content=answer.content,
        headers={**key, "Content-Type": "application/xml"},
    )
    assert back.status_code == 200 and back.content.startswith(b"UNA")
    bad = edi.replace(b"GID+1+", b"GID+X+")
    invalid = client.post(
        "/api/v1/validate", content=bad, headers={**key, "Content-Type": "application/EDIFACT"}
    )
    assert invalid.status_code == 422
    assert any("(GID)" in d["location"] for d in invalid.json()["error"]["details"])
    ok = client.post("/api/v1/validate", content=edi, headers={**key, "Content-Type": "text/plain"})
    assert ok.json() == {"valid": True, "issues": []}
    assert (
        client.post("/api/v1/convert", content=edi, headers={**key, "Content-Type": "image/png"}).status_code
        == 415
    )
    assert (
        client.post("/api/v1/convert", content=edi, headers={"Content-Type": "text/plain"}).status_code == 401
    )
    huge = b"x" * (10 * 1024 * 1024 + 1)
    assert (
        client.post(
            "/api/v1/convert", content=huge, headers={**key, "Content-Type": "text/plain"}
        ).status_code
        == 413
    )
