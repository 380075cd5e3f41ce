"""`swhub sim start|status|stop` as a user runs them: the CLI as a real subprocess, the simulators as
real processes on free ports, the hub's callback endpoint as a real local HTTP server."""

from __future__ import annotations

import importlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from simtest_support import REPO_ROOT, CallbackReceiver, application

from adapters.tax import TaxRefundClient
from hub.cli.sim_control import SPECS, HubKeys, SimName
from simulators.common.runner import free_port

TAX_OFFICER_KEY = "cli-test-tax-officer-key"
CUSTOMS_PARTY_KEY = "cli-test-customs-key"


@pytest.fixture
def hub() -> Iterator[CallbackReceiver]:
    server = CallbackReceiver()
    yield server
    server.close()


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    """The CLI's environment: its own state dir, a hub parties file with plaintext keys, and none of the
    developer's simulator / broker settings."""
    parties = tmp_path / "parties.yaml"
    parties.write_text(
        yaml.safe_dump(
            {
                "parties": [
                    {
                        "uscc": "11370000M1C0TAX011",
                        "name": "tax",
                        "roles": ["tax_officer"],
                        "keys": [{"key": TAX_OFFICER_KEY}],
                    },
                    {
                        "uscc": "11100000000013127D",
                        "name": "customs",
                        "roles": ["customs"],
                        "keys": [{"key": CUSTOMS_PARTY_KEY}],
                    },
                ]
            }
        ),
        encoding="utf-8",
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TAX_SIM_", "BANK_SIM_", "CUSTOMS_SIM_", "PORT_SIM_", "HUB_"))
    }
    return env | {
        "SWHUB_SIM_DIR": str(tmp_path / "sim"),
        "HUB_API_KEYS_FILE": str(parties),
        "COLUMNS": "220",
        "NO_COLOR": "1",
    }


def swhub(env: dict[str, str], *args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub.cli.main", "sim", *args],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def record(env: dict[str, str], name: str) -> dict[str, Any]:
    return json.loads((Path(env["SWHUB_SIM_DIR"]) / f"{name}.json").read_text(encoding="utf-8"))


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"


def status_json(env: dict[str, str]) -> tuple[int, dict[str, dict[str, Any]]]:
    result = swhub(env, "status", "--json")
    rows = {r["name"]: r for r in json.loads(result.stdout)["simulators"]}
    return result.returncode, rows


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped): never signalled by `sim stop`."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_start_detached_status_and_stop_tax(cli_env: dict[str, str], hub: CallbackReceiver) -> None:
    port = free_port()
    hub_url = hub.url.removesuffix("/callbacks")
    started = swhub(cli_env, "start", "tax", "--port", str(port), "--hub-url", hub_url, "--detach")
    assert started.returncode == 0, started.stdout + started.stderr
    rec = record(cli_env, "tax")
    url = f"http://127.0.0.1:{port}"
    assert rec["url"] == url and rec["port"] == port and rec["detached"] is True
    assert url in started.stdout and f"control API key: {rec['api_key']}" in started.stdout
    assert rec["log"] in started.stdout.replace("\n", "") and Path(rec["log"]).exists()
    try:
        # it outlived the CLI, and its control API opens with the printed key
        assert httpx.get(f"{url}/health", timeout=5).status_code == 200
        state = httpx.get(f"{url}/control/state", headers={"X-API-Key": rec["api_key"]}, timeout=5)
        assert state.status_code == 200
        # wired to the hub: a filing's ACCEPTED stage event is pushed to --hub-url with the tax
        # officer's key from the hub's parties file
        TaxRefundClient(f"{url}/soap?wsdl").submit_refund_application(application())
        pushed = hub.wait_for(lambda r: len(r) >= 1)
        assert pushed[0].path == "/api/v1/refunds/events/tax"
        assert pushed[0].headers.get("X-API-Key") == TAX_OFFICER_KEY

        code, rows = status_json(cli_env)
        assert code == 0
        assert rows["tax"]["up"] and rows["tax"]["pid"] == rec["pid"] and rows["tax"]["url"] == url
        assert rows["tax"]["figures"].startswith("cases 1, events 1")
        table = swhub(cli_env, "status")
        assert table.returncode == 0
        line = next(x for x in table.stdout.splitlines() if " tax " in x)
        assert url in line and str(rec["pid"]) in line and " up " in line and "cases 1" in line

        # a second start of the same simulator is refused while the first runs
        again = swhub(cli_env, "start", "tax", "--port", str(free_port()), "--detach")
        assert again.returncode == 1 and "already runs" in again.stdout

        # a recorded simulator that is down makes status fail, and stop clears its record
        Path(cli_env["SWHUB_SIM_DIR"], "bank.json").write_text(
            json.dumps(
                {
                    "name": "bank",
                    "module": "simulators.bank",
                    "pid": dead_pid(),
                    "port": free_port(),
                    "url": f"http://127.0.0.1:{free_port()}",
                    "api_key": "x",
                }
            ),
            encoding="utf-8",
        )
        code, rows = status_json(cli_env)
        assert code == 1 and rows["bank"]["recorded"] and not rows["bank"]["up"]
        assert rows["bank"]["process"] is False and rows["tax"]["up"]
        gone = swhub(cli_env, "stop", "bank")
        assert gone.returncode == 0 and "was not running" in gone.stdout
        assert status_json(cli_env)[0] == 0
    finally:
        stopped = swhub(cli_env, "stop", "tax")
    assert stopped.returncode == 0 and f"stopped (pid {rec['pid']})" in stopped.stdout
    assert not alive(rec["pid"])
    assert not Path(cli_env["SWHUB_SIM_DIR"], "tax.json").exists()
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{url}/health", timeout=2)
    code, rows = status_json(cli_env)
    assert not rows["tax"]["recorded"] and rows["tax"]["url"] == "http://127.0.0.1:8102"
    assert code == (0 if any(r["up"] for r in rows.values()) else 1)  # nothing recorded: 1 unless one is up
    assert swhub(cli_env, "stop", "tax").returncode == 1  # nothing recorded any more


def test_start_refuses_a_port_in_use_and_unknown_names(cli_env: dict[str, str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        refused = swhub(cli_env, "start", "bank", "--port", str(port), "--detach")
    assert refused.returncode == 1 and f"port {port}" in refused.stdout and "in use" in refused.stdout
    assert not Path(cli_env["SWHUB_SIM_DIR"], "bank.json").exists()
    assert swhub(cli_env, "start", "bogus").returncode == 2
    assert swhub(cli_env, "stop", "bogus").returncode == 2


def test_foreground_customs_until_ctrl_c(cli_env: dict[str, str], hub: CallbackReceiver) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hub.cli.main",
            "sim",
            "start",
            "customs",
            "--port",
            str(port),
            "--hub-url",
            hub.url.removesuffix("/callbacks"),
            "--api-key",
            "fg-key",
        ],
        env=cli_env,
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        path = Path(cli_env["SWHUB_SIM_DIR"], "customs.json")
        deadline = time.monotonic() + 60
        while not path.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        rec = record(cli_env, "customs")
        assert rec["detached"] is False and rec["api_key"] == "fg-key"
        assert proc.poll() is None  # stays in the foreground
        code, rows = status_json(cli_env)
        assert code == 0 and rows["customs"]["up"]
        assert rows["customs"]["status"]["transport"] == "http"  # /control/status read with the key
        assert rows["customs"]["figures"].startswith("http: received 0")
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        output, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, output
    assert "Ctrl-C to stop" in output and "customs stopped" in output
    assert not alive(rec["pid"]) and not path.exists()


def test_customs_over_amqp_from_hub_amqp_url(cli_env: dict[str, str], amqp_url: str) -> None:
    import pika

    queue = f"t{uuid.uuid4().hex[:8]}.customs"
    env = cli_env | {"HUB_AMQP_URL": amqp_url, "CUSTOMS_SIM_QUEUE": queue}  # the queue is passed through
    started = swhub(env, "start", "customs", "--port", str(free_port()), "--detach")
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        assert "over AMQP" in started.stdout
        code, rows = status_json(env)
        assert code == 0 and rows["customs"]["status"]["transport"] == "amqp"
        connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
        connection.channel().queue_declare(queue, passive=True)  # the simulator declared its queue
        connection.close()
    finally:
        assert swhub(env, "stop", "customs").returncode == 0
        connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
        connection.channel().queue_delete(queue)
        connection.close()


def test_start_port_detached(cli_env: dict[str, str], hub: CallbackReceiver) -> None:
    pytest.importorskip("simulators.port.__main__")  # the port simulator is built by another helper
    port = free_port()
    started = swhub(
        cli_env,
        "start",
        "port",
        "--port",
        str(port),
        "--hub-url",
        hub.url.removesuffix("/callbacks"),
        "--detach",
    )
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        rec = record(cli_env, "port")
        code, rows = status_json(cli_env)
        assert code == 0 and rows["port"]["up"] and rows["port"]["status"]["transport"] == "http"
        assert rows["port"]["figures"].startswith("http: calls 0")
    finally:
        assert swhub(cli_env, "stop", "all").returncode == 0
    assert not alive(rec["pid"])


@pytest.mark.parametrize("name", list(SimName))
def test_defaults_and_wiring_match_each_simulator(name: SimName) -> None:
    """The CLI's default ports are the simulators' own, and every variable it sets is a real setting."""
    if name is SimName.PORT:
        pytest.importorskip("simulators.port.__main__")
    spec = SPECS[name]
    assert spec.default_port == importlib.import_module(f"{spec.module}.__main__").DEFAULT_PORT
    settings_module = {"customs": "simulators.customs.app"}.get(name.value, f"{spec.module}.settings")
    classes = [
        c
        for c in vars(importlib.import_module(settings_module)).values()
        if isinstance(c, type) and getattr(c, "model_config", {}).get("env_prefix") == spec.prefix
    ]
    assert len(classes) == 1
    fields = {f"{spec.prefix}{f}".upper() for f in classes[0].model_fields}
    wired = spec.wire(
        "http://hub:8000",
        "amqp://broker/%2F",
        HubKeys({"tax_officer": "k", "customs": "k"}, {"91370200M3C0PRT01B": "k", "91370200M3C0BRK01N": "k"}),
    )
    assert wired and set(wired) | {spec.key_var(), *spec.hub_key_vars} <= fields
