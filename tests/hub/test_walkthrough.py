"""docs/walkthrough.md cannot rot (issue 14 item 6): its `bash` blocks are run for real, in order, with
bash and curl against a `swhub serve` on a fresh SQLite database and a free port, exactly as a reader
runs them after `make run`; the declaration must end cleared and the refund credited."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from simulators.common.runner import free_port

ROOT = Path(__file__).parents[2]
DOC = ROOT / "docs" / "walkthrough.md"
EXAMPLES = ROOT / "examples"
OWN_VARS = ("HUB_", "TAX_SIM", "BANK_SIM", "CUSTOMS_SIM", "SWHUB_SIM")
BILL = "QDLH26112001"
BROKER, TRADER = "91370200M3C0BRK01N", "91370200M3C0EXP01H"


def bash_blocks(text: str) -> list[str]:
    return re.findall(r"^```bash\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE)


def banner_lines(text: str, port: int) -> list[str]:
    """The start banner the walkthrough shows (its first `text` block), each line up to its first `…`
    (the parts that differ per run), with the default port replaced by the test hub's."""
    block = re.search(r"^```text\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE)
    assert block, "the walkthrough lost the start banner"
    lines = [line.split("…")[0].replace(":8000", f":{port}") for line in block.group(1).splitlines()]
    return [line for line in lines if line.strip()]


def test_every_example_file_is_used_and_tells_one_story() -> None:
    script = "\n".join(bash_blocks(DOC.read_text(encoding="utf-8")))
    files = sorted(p.name for p in EXAMPLES.iterdir())
    assert files, "examples/ is empty"
    for name in files:
        assert f"examples/{name}" in script, f"examples/{name} is not used by any bash block"
        text = (EXAMPLES / name).read_text(encoding="utf-8")
        assert BILL in text, f"{name} is about another bill"
    for name in files:  # ClientSeqNos that the customs simulator treats as normal (no steering prefix)
        for seq in re.findall(r"<ClientSeqNo>([^<]*)</ClientSeqNo>", (EXAMPLES / name).read_text("utf-8")):
            assert seq[:1] not in "RIXFD", (name, seq)


def _wait_healthy(base: str, log: Path, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text(errors="replace")
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200 and "swhub on http" in log.read_text(
                errors="replace"
            ):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"hub not up: {log.read_text(errors='replace')[-3000:]}")


@pytest.mark.skipif(shutil.which("curl") is None and not os.environ.get("CI"), reason="needs curl")
def test_walkthrough_commands_take_the_declaration_to_cleared_and_the_refund_to_credited(
    tmp_path: Path,
) -> None:
    assert shutil.which("curl"), "the walkthrough needs curl"
    assert (ROOT / ".venv" / "bin" / "python").exists(), "the walkthrough uses .venv/bin/python (make venv)"
    blocks = bash_blocks(DOC.read_text(encoding="utf-8"))
    assert len(blocks) >= 8, "the walkthrough lost its commands"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    parties = tmp_path / "parties.yaml"  # absent: the hub's first run creates it, as for a reader
    env = {key: value for key, value in os.environ.items() if not key.startswith(OWN_VARS)}
    env.update(
        HUB_DATABASE_URL=f"sqlite:///{tmp_path / 'hub.db'}",
        HUB_API_KEYS_FILE=str(parties),
        SWHUB_SIM_DIR=str(tmp_path / "sim"),
    )
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "hub.cli.main", "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_healthy(base, log, proc)
            banner = log.read_text(errors="replace")
            for line in banner_lines(DOC.read_text(encoding="utf-8"), port):  # what the reader is shown
                assert line in banner, f"the walkthrough shows {line!r}; the hub printed:\n{banner[-3000:]}"
            script = "set -euo pipefail\n" + "\n".join(blocks)
            run = subprocess.run(
                ["bash", "-c", script],
                cwd=ROOT,
                env={**env, "HUB": base},
                capture_output=True,
                text=True,
                timeout=420,
            )
            print(run.stdout)  # shown by pytest -s or on failure: what a reader would see
            assert run.returncode == 0, (
                f"walkthrough failed ({run.returncode})\n--- stdout\n{run.stdout[-4000:]}\n"
                f"--- stderr\n{run.stderr[-2000:]}\n--- hub\n{log.read_text(errors='replace')[-3000:]}"
            )
            # What the reader was told to see, checked again from outside the script.
            first_run = yaml.safe_load(parties.read_text("utf-8"))["parties"]
            keys = {p["uscc"]: p["keys"][0]["key"] for p in first_run}
            decls = httpx.get(f"{base}/api/v1/declarations", headers={"X-API-Key": keys[BROKER]}).json()
            mine = {d["kind"]: d for d in decls if d["bill_no"] == BILL}
            assert set(mine) == {"summary", "complete"}, decls
            assert all(d["state"] == "cleared" and d["cleared_at"] for d in mine.values()), mine
            assert mine["summary"]["screening"]["outcome"] == "release_on_arrival", mine["summary"]
            timeline = httpx.get(
                f"{base}/api/v1/consignments/{BILL}/timeline", headers={"X-API-Key": keys[BROKER]}
            ).json()
            boxes = timeline["containers"]
            assert len(boxes) == 2, boxes
            assert all(b["arrived_at"] and b["tallied_at"] and b["released_at"] for b in boxes), boxes
            assert timeline["discrepancies"] == []
            refund = httpx.get(
                f"{base}/api/v1/refunds/QDLH26112001-TS01", headers={"X-API-Key": keys[TRADER]}
            ).json()
            assert refund["status"] == "credited", refund
            assert 'ok: "status":"credited"' in run.stdout
        finally:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def test_api_docs_examples_are_the_walkthrough_messages() -> None:
    """/docs shows the same consignment (not a bill the simulator rejects, nor goods stage 1 refuses)."""
    api = ROOT / "hub" / "api" / "examples"
    for shown, told in (
        ("manifest-mt1101.xml", "01-manifest-mt1101.xml"),
        ("declaration.xml", "05-complete-declaration.xml"),
        ("refund-application.xml", "06-refund-application.xml"),
        ("manifest-mt1101.edi", "01-manifest-mt1101.edi"),
        ("arrival-mt3101.edi", "04-arrival-mt3101-box2.edi"),
        ("tally-mt5101.edi", "03-tally-mt5101-box2.edi"),
    ):
        assert (api / shown).read_bytes() == (EXAMPLES / told).read_bytes(), f"{shown} differs from {told}"


def test_api_docs_cusdec_example_is_the_declaration_example_converted() -> None:
    """The CUSDEC /docs shows for screening is the shown DecMessage as the hub converts it (not a
    hand-made EDIFACT that could drift from it)."""
    from messages.convert import convert

    api = ROOT / "hub" / "api" / "examples"
    (doc,) = convert((api / "declaration.xml").read_bytes(), to="edifact")
    assert doc.content == (api / "declaration.edi").read_bytes()
