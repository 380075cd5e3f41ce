"""The customs simulator's control API, against the simulator as a real process: tester-key auth,
/control/status, and failure rules that its /inbox honours. Its answers go to a real local HTTP
server standing in for the hub's POST /api/v1/messages."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import httpx
import pytest
from simtest_support import CONTROL_KEY, REPO_ROOT, CallbackReceiver, control, ok

from simulators.common.runner import SimulatorProcess
from simulators.customs.traffic import Shipment, declaration_xml, manifest_xml

HUB_KEY = "customs-party-key"


@pytest.fixture(scope="module")
def hub() -> Iterator[CallbackReceiver]:
    server = CallbackReceiver()
    yield server
    server.close()


@pytest.fixture(scope="module")
def customs(hub: CallbackReceiver) -> Iterator[SimulatorProcess]:
    env = {
        "CUSTOMS_SIM_API_KEY": CONTROL_KEY,
        "CUSTOMS_SIM_HUB_URL": hub.url.removesuffix("/callbacks"),
        "CUSTOMS_SIM_HUB_API_KEY": HUB_KEY,
        "CUSTOMS_SIM_HANG_SECONDS": "0.4",
    }
    with SimulatorProcess("simulators.customs", env=env, cwd=REPO_ROOT) as process:
        yield process


@pytest.fixture(autouse=True)
def no_rules(customs: SimulatorProcess) -> Iterator[None]:
    ok(control(customs.base_url, "DELETE", "/failures"))
    yield
    ok(control(customs.base_url, "DELETE", "/failures"))


def inbox(customs: SimulatorProcess, body: bytes) -> httpx.Response:
    return httpx.post(
        f"{customs.base_url}/inbox", content=body, headers={"Content-Type": "application/xml"}, timeout=10
    )


def status(customs: SimulatorProcess) -> dict[str, object]:
    return ok(control(customs.base_url, "GET", "/status"))  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "method,path,body",
    [
        ("GET", "/status", None),
        ("GET", "/failures", None),
        ("POST", "/failures", {"mode": "http500"}),
        ("DELETE", "/failures", None),
    ],
)
def test_control_needs_the_tester_key(
    customs: SimulatorProcess, method: str, path: str, body: object
) -> None:
    assert control(customs.base_url, method, path, body, key=None).status_code == 401
    assert control(customs.base_url, method, path, body, key="not-the-key").status_code == 403
    assert control(customs.base_url, "GET", "/failures").json() == []  # refused calls added nothing


def test_health_stays_public_and_unchanged(customs: SimulatorProcess) -> None:
    health = httpx.get(f"{customs.base_url}/health", timeout=5)
    assert health.status_code == 200
    assert set(health.json()) == {"status", "received", "sent", "failed"}


def test_http500_rule_for_one_message_type_is_honoured_by_inbox(
    customs: SimulatorProcess, hub: CallbackReceiver
) -> None:
    before = status(customs)
    shipment = Shipment.make(701, 1)
    rule = ok(
        control(
            customs.base_url, "POST", "/failures", {"mode": "http500", "operation": "DecMessage", "count": 2}
        )
    )
    assert rule["remaining"] == 2 and rule["operation"] == "DecMessage"
    declaration = declaration_xml("summary", shipment, "A26110000000000701")
    assert inbox(customs, manifest_xml(shipment)).status_code == 202  # another type: not affected
    assert [inbox(customs, declaration).status_code for _ in range(3)] == [500, 500, 202]
    after = status(customs)
    # the refused calls were not processed: one manifest and one declaration more, nothing else
    assert after["received"] == before["received"] + 2  # type: ignore[operator]
    assert after["declarations"] == before["declarations"] + 1  # type: ignore[operator]
    assert after["failures"] == [] and ok(control(customs.base_url, "GET", "/failures")) == []
    mine = [d for d in after["registered"] if d["client_seq_no"] == "A26110000000000701"]  # type: ignore[attr-defined]
    assert len(mine) == 1 and mine[0]["status"] == "registered" and len(mine[0]["entry_id"]) == 18
    # MT9999 + DecImportResponse + DEC_DATA reach the hub, with the customs party's key
    got = hub.wait_for(lambda r: len(r) >= 3)
    assert {r.path for r in got} == {"/api/v1/messages"}
    assert {r.headers.get("X-API-Key") for r in got} == {HUB_KEY}
    assert status(customs)["sent"] >= before["sent"] + 3  # type: ignore[operator]


def test_latency_timeout_and_unavailable_rules(customs: SimulatorProcess) -> None:
    body = manifest_xml(Shipment.make(702, 1))
    ok(control(customs.base_url, "POST", "/failures", {"mode": "latency", "operation": "*", "seconds": 0.6}))
    started = time.monotonic()
    assert inbox(customs, body).status_code == 202
    assert time.monotonic() - started >= 0.6
    ok(control(customs.base_url, "POST", "/failures", {"mode": "timeout", "operation": "inbox"}))
    started = time.monotonic()
    assert inbox(customs, body).status_code == 504
    assert time.monotonic() - started >= 0.4  # CUSTOMS_SIM_HANG_SECONDS
    ok(control(customs.base_url, "POST", "/failures", {"mode": "soap_fault", "operation": "MT1101"}))
    answer = inbox(customs, body)
    assert answer.status_code == 503 and answer.json() == {"error": "SERVICE_UNAVAILABLE"}
    started = time.monotonic()
    assert inbox(customs, body).status_code == 202 and time.monotonic() - started < 0.4  # rules used up


def test_rule_until_cleared_and_invalid_rules(customs: SimulatorProcess) -> None:
    ok(control(customs.base_url, "POST", "/failures", {"mode": "http500", "count": None}))
    assert [inbox(customs, b"not xml at all").status_code for _ in range(3)] == [500, 500, 500]
    assert ok(control(customs.base_url, "DELETE", "/failures")) == {"cleared": 1}
    assert inbox(customs, b"not xml at all").status_code == 400  # the normal answer again
    bad = control(customs.base_url, "POST", "/failures", {"mode": "explode", "count": 0})
    assert bad.status_code == 422
    assert {e["loc"][-1] for e in bad.json()["detail"]} == {"mode", "count"}


def test_without_a_configured_key_a_random_one_is_logged_and_works(hub: CallbackReceiver) -> None:
    env = {"CUSTOMS_SIM_API_KEY": "", "CUSTOMS_SIM_HUB_URL": hub.url.removesuffix("/callbacks")}
    with SimulatorProcess("simulators.customs", env=env, cwd=REPO_ROOT) as process:
        match = re.search(r"control API key for this run is (\S+)", process.read_log())
        assert match, process.read_log()
        key = match.group(1)
        assert len(key) > 20
        assert control(process.base_url, "GET", "/status", key=key).status_code == 200
        assert control(process.base_url, "GET", "/status", key=CONTROL_KEY).status_code == 403
