"""`swhub sim start|status|stop`: run one simulator (customs, port, tax, bank) as its own process, wired
to a hub by the simulator's own environment variables, and look after the ones started detached.

State of detached (and running foreground) simulators: `var/sim/<name>.json` (pid, port, url, control
key, log) under the working directory, or under $SWHUB_SIM_DIR. Logs: `var/sim/<name>.log`."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import httpx
import typer
import yaml
from rich.console import Console
from rich.table import Table

console = Console()
DEFAULT_HUB_URL = "http://127.0.0.1:8000"
HEALTH_TIMEOUT = 2.0  # per status probe: a simulator that takes longer counts as down


class SimName(StrEnum):
    PORT = "port"
    CUSTOMS = "customs"
    TAX = "tax"
    BANK = "bank"


@dataclass(frozen=True)
class HubKeys:
    """The hub parties' plaintext API keys a simulator calls the hub with (None = unknown)."""

    by_role: dict[str, str]
    by_uscc: dict[str, str]


@dataclass(frozen=True)
class SimSpec:
    name: SimName
    module: str
    default_port: int  # the simulator's own default (its __main__.DEFAULT_PORT)
    prefix: str  # environment prefix of its settings class
    status_path: str | None  # keyed status endpoint, if any
    default_key: str | None  # the control key the simulator uses when <PREFIX>API_KEY is unset
    wire: Callable[[str, str | None, HubKeys], dict[str, str]]  # (hub url, amqp url, keys) -> env
    hub_side: Callable[[str], str]  # what the hub must be told (from the simulator's base URL)
    hub_key_vars: tuple[str, ...]  # settings holding the hub keys it needs in HTTP mode

    def key_var(self) -> str:
        return f"{self.prefix}API_KEY"


def _unset_only(env: dict[str, str | None]) -> dict[str, str]:
    """Drop unknown values and anything the user already set in the environment (theirs wins)."""
    return {k: v for k, v in env.items() if v is not None and k not in os.environ}


def _wire_tax(hub: str, _amqp: str | None, keys: HubKeys) -> dict[str, str]:
    return {"TAX_SIM_CALLBACK_URL": f"{hub}/api/v1/refunds/events/tax"} | _unset_only(
        {"TAX_SIM_CALLBACK_API_KEY": keys.by_role.get("tax_officer")}
    )


def _wire_bank(hub: str, _amqp: str | None, keys: HubKeys) -> dict[str, str]:
    return {"BANK_SIM_CALLBACK_URL": f"{hub}/api/v1/refunds/events/bank"} | _unset_only(
        {"BANK_SIM_CALLBACK_API_KEY": keys.by_role.get("tax_officer")}
    )


def _wire_customs(hub: str, amqp: str | None, keys: HubKeys) -> dict[str, str]:
    env = {"CUSTOMS_SIM_HUB_URL": hub} | _unset_only({"CUSTOMS_SIM_HUB_API_KEY": keys.by_role.get("customs")})
    if amqp:  # AMQP wins for answers; the hub URL stays set so HTTP mode is one variable away
        env["CUSTOMS_SIM_AMQP_URL"] = amqp
    return env


def _wire_port(hub: str, amqp: str | None, keys: HubKeys) -> dict[str, str]:
    terminal = os.environ.get("PORT_SIM_TERMINAL_USCC", "91370200M3C0PRT01B")
    carrier = os.environ.get("PORT_SIM_CARRIER_USCC", "91370200M3C0BRK01N")
    env = {"PORT_SIM_HUB_URL": hub} | _unset_only(
        {
            "PORT_SIM_TERMINAL_API_KEY": keys.by_uscc.get(terminal),
            "PORT_SIM_CARRIER_API_KEY": keys.by_uscc.get(carrier),
        }
    )
    if amqp:
        env["PORT_SIM_AMQP_URL"] = amqp
    return env


SPECS: dict[SimName, SimSpec] = {
    SimName.TAX: SimSpec(
        SimName.TAX,
        "simulators.tax",
        8102,
        "TAX_SIM_",
        "/control/state",
        "sim-tester-key",
        _wire_tax,
        lambda url: f"HUB_REFUND_TAX_WSDL_URL={url}/soap?wsdl",
        ("TAX_SIM_CALLBACK_API_KEY",),
    ),
    SimName.BANK: SimSpec(
        SimName.BANK,
        "simulators.bank",
        8103,
        "BANK_SIM_",
        "/control/state",
        "sim-tester-key",
        _wire_bank,
        lambda url: f"HUB_REFUND_BANK_URL={url}",
        ("BANK_SIM_CALLBACK_API_KEY",),
    ),
    SimName.CUSTOMS: SimSpec(
        SimName.CUSTOMS,
        "simulators.customs",
        8104,
        "CUSTOMS_SIM_",
        "/control/status",
        None,
        _wire_customs,
        lambda url: f"HUB_CLEARANCE_CUSTOMS_URL={url} (HTTP mode only; unset it for AMQP)",
        ("CUSTOMS_SIM_HUB_API_KEY",),
    ),
    SimName.PORT: SimSpec(
        SimName.PORT,
        "simulators.port",
        8105,
        "PORT_SIM_",
        "/status",
        None,
        _wire_port,
        lambda url: "nothing: the port simulator sends to the hub and polls/consumes notices",
        ("PORT_SIM_TERMINAL_API_KEY", "PORT_SIM_CARRIER_API_KEY"),
    ),
}


# ----- state files ------------------------------------------------------------------------------------
def state_dir() -> Path:
    return Path(os.environ.get("SWHUB_SIM_DIR") or Path("var") / "sim")


def _record_path(name: str) -> Path:
    return state_dir() / f"{name}.json"


def read_record(name: str) -> dict[str, Any] | None:
    try:
        return json.loads(_record_path(name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _write_record(record: dict[str, Any]) -> None:
    path = _record_path(record["name"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2), encoding="utf-8")
    path.chmod(0o600)  # it holds the control key


def _drop_record(name: str, pid: int | None = None) -> None:
    """Remove the record (only if it is still about `pid`, so a newer start's record survives)."""
    record = read_record(name)
    if record is not None and (pid is None or record.get("pid") == pid):
        _record_path(name).unlink(missing_ok=True)


# ----- processes -------------------------------------------------------------------------------------
def _alive(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)  # reap it if it is our own exited child (else it lingers as a zombie)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    with contextlib.suppress(OSError):
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    return True


def _is_simulator(pid: int, module: str) -> bool:
    """Alive and (where /proc tells) still running our module: a recycled pid is never signalled."""
    if not _alive(pid):
        return False
    cmdline = Path(f"/proc/{pid}/cmdline")
    try:
        return module in cmdline.read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return True  # no /proc (macOS): trust the recorded pid


def _terminate(pid: int, timeout: float = 10.0) -> None:
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _any_free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def hub_keys() -> HubKeys:
    """Plaintext keys from the hub's parties file (HUB_API_KEYS_FILE, `make run`'s var/parties.yaml), if
    there is one: a local hub then accepts the simulators' calls without copying keys around."""
    try:
        from hub.config import Settings

        path = Settings().api_keys_file
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except Exception:  # no readable parties file: the simulator gets no hub keys
        return HubKeys({}, {})
    by_role: dict[str, str] = {}
    by_uscc: dict[str, str] = {}
    for party in data.get("parties") or []:
        plain = [k["key"] for k in party.get("keys") or [] if isinstance(k, dict) and k.get("key")]
        if not plain:
            continue
        by_uscc.setdefault(str(party.get("uscc")), plain[0])
        for role in party.get("roles") or []:
            by_role.setdefault(role, plain[0])
    return HubKeys(by_role, by_uscc)


def _wait_healthy(proc: subprocess.Popen[bytes], url: str, timeout: float) -> str | None:
    """None once /health answers 200; else why not."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return f"exited with code {proc.returncode}"
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return None
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    return f"no healthy answer on {url}/health within {timeout:.0f} s"


def _log_tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# ----- status ------------------------------------------------------------------------------------------
def _figures(name: SimName, data: dict[str, Any]) -> str:
    if name is SimName.TAX:
        cases = data.get("cases") or []
        callback = data.get("callback") or {}
        pushed = (
            f", pushed {callback.get('delivered', 0)}/failed {callback.get('failed', 0)}"
            if callback.get("kind") == "http"
            else ""
        )
        clock = str(data.get("now", "?"))[:19]
        return f"cases {len(cases)}, events {data.get('events', 0)}{pushed}, clock {clock}"
    if name is SimName.BANK:
        orders = data.get("orders") or []
        by_status: dict[str, int] = {}
        for order in orders:
            by_status[order.get("status", "?")] = by_status.get(order.get("status", "?"), 0) + 1
        detail = ", ".join(f"{k.lower()} {v}" for k, v in sorted(by_status.items()))
        clock = str(data.get("now", "?"))[:19]
        return f"orders {len(orders)}" + (f" ({detail})" if detail else "") + f", clock {clock}"
    if name is SimName.CUSTOMS:
        return (
            f"{data.get('transport', '?')}: received {data.get('received', 0)}, "
            f"sent {data.get('sent', 0)}, failed {data.get('failed', 0)}, "
            f"declarations {data.get('declarations', 0)}, "
            f"failure rules {len(data.get('failures') or [])}"
        )
    sent = data.get("sent") or 0
    total = sum(sent.values()) if isinstance(sent, dict) else sent  # per message type, or a plain count
    return (
        f"{data.get('transport', '?')}: calls {data.get('calls', 0)}, sent {total}, "
        f"failed {data.get('failed', 0)}, gated out {data.get('gated_out', 0)}, "
        f"reconnects {data.get('reconnects', 0)}"
    )


def probe(name: SimName, url: str, key: str | None) -> dict[str, Any]:
    """/health, then the keyed status endpoint: {"up", "health", "status", "figures"}."""
    spec = SPECS[name]
    result: dict[str, Any] = {"up": False, "figures": ""}
    try:
        with httpx.Client(timeout=HEALTH_TIMEOUT) as client:
            health = client.get(f"{url}/health")
            result["up"] = health.status_code == 200
            if not result["up"]:
                result["figures"] = f"/health answered {health.status_code}"
                return result
            result["health"] = health.json()
            if spec.status_path is None:
                return result
            answer = client.get(f"{url}{spec.status_path}", headers={"X-API-Key": key or ""})
            if answer.status_code == 200:
                result["status"] = answer.json()
                try:
                    result["figures"] = _figures(name, result["status"])
                except (AttributeError, KeyError, TypeError):  # a simulator newer than this CLI
                    result["figures"] = f"{spec.status_path}: unexpected answer"
            else:
                result["figures"] = (
                    f"{spec.status_path}: {answer.status_code} (control key "
                    f"{'refused' if answer.status_code in (401, 403) else 'not usable'})"
                )
    except httpx.TransportError:
        result["figures"] = result["figures"] or "no answer"
    except (httpx.HTTPError, ValueError) as exc:
        result["figures"] = result["figures"] or f"unreadable answer ({type(exc).__name__})"
    return result


# ----- commands ----------------------------------------------------------------------------------------
def register(sim_app: typer.Typer) -> None:
    @sim_app.command()
    def start(
        name: SimName = typer.Argument(..., help="Which simulator."),
        port: int = typer.Option(None, help="TCP port (default: the simulator's own; 0 = any free port)."),
        host: str = typer.Option("127.0.0.1", help="Interface to bind."),
        hub_url: str = typer.Option(DEFAULT_HUB_URL, help="The hub the simulator talks to / calls back."),
        amqp_url: str = typer.Option(
            None,
            envvar="HUB_AMQP_URL",
            show_envvar=True,
            help="RabbitMQ URL for the customs and port simulators (AMQP mode); tax and bank ignore it.",
        ),
        api_key: str = typer.Option(
            None, help="Control API key (X-API-Key of /control). Default: <PREFIX>API_KEY or a fresh one."
        ),
        detach: bool = typer.Option(False, help="Run in the background and return; stop with `sim stop`."),
        timeout: float = typer.Option(60.0, help="Seconds to wait for the simulator's /health."),
    ) -> None:
        """Start one simulator as its own process (python -m simulators.NAME), wired to the hub.

        Prints its base URL, control API key and log file. Any other <PREFIX>* setting in your
        environment (TAX_SIM_CLOCK, CUSTOMS_SIM_BASE_DELAY, ...) is passed through unchanged; hub keys
        the simulator needs are taken from the environment or else from the hub's parties file."""
        spec = SPECS[name]
        if find_spec(spec.module) is None or find_spec(f"{spec.module}.__main__") is None:
            console.print(f"[red]{spec.module} is not installed in this environment[/red]")
            raise typer.Exit(1)
        existing = read_record(name.value)
        if existing is not None:
            if _is_simulator(int(existing.get("pid", 0)), spec.module):
                console.print(
                    f"[red]{name.value} already runs (pid {existing['pid']}, {existing['url']}); "
                    f"`swhub sim stop {name.value}` first[/red]"
                )
                raise typer.Exit(1)
            _drop_record(name.value)  # stale: its process is gone
        chosen = spec.default_port if port is None else port or _any_free_port(host)
        if not _port_free(host, chosen):
            console.print(f"[red]port {chosen} on {host} is in use (try --port N, or --port 0)[/red]")
            raise typer.Exit(1)
        key = api_key or os.environ.get(spec.key_var()) or "sim_" + secrets.token_urlsafe(18)
        hub = hub_url.rstrip("/")
        wired = spec.wire(hub, amqp_url or None, hub_keys()) | {spec.key_var(): key}
        url_host = "127.0.0.1" if host in ("0.0.0.0", "") else host
        url = f"http://{url_host}:{chosen}"
        directory = state_dir()
        directory.mkdir(parents=True, exist_ok=True)
        log_path = (directory / f"{name.value}.log").resolve()
        cmd = [sys.executable, "-m", spec.module, "--host", host, "--port", str(chosen)]
        env = {**os.environ, **wired, "PYTHONUNBUFFERED": "1"}
        with log_path.open("wb") as log:  # the child keeps its own descriptor
            proc = subprocess.Popen(
                cmd, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=detach
            )
        problem = _wait_healthy(proc, url, timeout)
        if problem is not None:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=10)
            console.print(f"[red]{name.value} did not start: {problem}[/red]\n{_log_tail(log_path)}")
            raise typer.Exit(1)
        record = {
            "name": name.value,
            "module": spec.module,
            "pid": proc.pid,
            "host": host,
            "port": chosen,
            "url": url,
            "api_key": key,
            "log": str(log_path),
            "detached": detach,
            "hub_url": hub,
            "amqp": bool(amqp_url),
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        _write_record(record)
        transport = "AMQP" if amqp_url and name in (SimName.CUSTOMS, SimName.PORT) else "HTTP"
        console.print(f"simulator {name.value}: {url} (pid {proc.pid}, to the hub over {transport})")
        console.print(f"control API key: {key}")
        console.print(f"log: {log_path}")
        console.print(f"hub side: {spec.hub_side(url)}", highlight=False)
        missing = [k for k in spec.hub_key_vars if not env.get(k)]
        if missing and transport == "HTTP":
            console.print(
                f"[yellow]no hub key for {', '.join(missing)}: the hub will refuse its calls "
                f"(set it, or keep the keys in the hub's parties file)[/yellow]"
            )
        if detach:
            return
        console.print("running in the foreground; Ctrl-C to stop")
        try:
            proc.wait()
        except KeyboardInterrupt:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        finally:
            _drop_record(name.value, proc.pid)
        console.print(f"{name.value} stopped")

    @sim_app.command()
    def status(
        as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
    ) -> None:
        """Probe every recorded simulator (var/sim/*.json) and the default ports of the others.

        Exit code 0 when every recorded simulator answers /health and at least one simulator is up;
        1 when a recorded simulator is down or no simulator at all is reachable."""
        rows: list[dict[str, Any]] = []
        for name, spec in SPECS.items():
            record = read_record(name.value)
            url = record["url"] if record else f"http://127.0.0.1:{spec.default_port}"
            key = (record or {}).get("api_key") or os.environ.get(spec.key_var()) or spec.default_key
            result = probe(name, url, key)
            pid = (record or {}).get("pid")
            rows.append(
                {
                    "name": name.value,
                    "url": url,
                    "pid": pid,
                    "recorded": record is not None,
                    "detached": (record or {}).get("detached"),
                    "process": None if pid is None else _alive(int(pid)),
                    "up": result["up"],
                    "figures": result["figures"],
                    "status": result.get("status"),
                }
            )
        failing = [r for r in rows if r["recorded"] and not r["up"]]
        code = 1 if failing or not any(r["up"] for r in rows) else 0
        if as_json:
            typer.echo(json.dumps({"simulators": rows, "exit_code": code}, indent=2))
            raise typer.Exit(code)
        table = Table(title="swhub simulators")
        for column in ("simulator", "url", "pid", "state", "figures"):
            table.add_column(column, overflow="fold")
        for r in rows:
            if r["up"]:
                state = "[green]up[/green]"
            elif r["recorded"]:
                state = "[red]down[/red]" + (" (process gone)" if r["process"] is False else "")
            else:
                state = "[dim]not running[/dim]"
            table.add_row(r["name"], r["url"], str(r["pid"] or "-"), state, r["figures"])
        console.print(table)
        raise typer.Exit(code)

    @sim_app.command()
    def stop(name: str = typer.Argument(..., help="port | customs | tax | bank | all")) -> None:
        """Stop simulators started with `swhub sim start` (SIGTERM, then SIGKILL after 10 s)."""
        names = [n.value for n in SimName] if name == "all" else [name]
        if name != "all" and name not in {n.value for n in SimName}:
            console.print(f"[red]unknown simulator {name!r}: port, customs, tax, bank or all[/red]")
            raise typer.Exit(2)
        records = [(n, r) for n in names if (r := read_record(n)) is not None]
        if not records:
            console.print(f"no recorded simulator to stop in {state_dir()}")
            raise typer.Exit(0 if name == "all" else 1)
        for sim, record in records:
            pid = int(record.get("pid", 0))
            if _is_simulator(pid, record.get("module", "")):
                _terminate(pid)
                console.print(f"{sim}: stopped (pid {pid})")
            else:
                console.print(f"{sim}: was not running (stale record removed)")
            _drop_record(sim, pid)
