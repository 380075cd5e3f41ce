"""A hub plus every simulator, started for one scenario run (`swhub sim run`, `swhub demo`, the scenario
tests). The hub runs in this process on an accelerated clock (hub.clock.ScaledClock from the scenario's
start); the customs, port, tax and bank simulators run as their own processes and talk to the hub over
HTTP (in-process bus) or AMQP (RabbitMQ), exactly as they would against a deployed hub.

Backends follow the usual settings: HUB_AMQP_URL selects RabbitMQ, HUB_DATABASE_URL PostgreSQL; with
neither, a fresh SQLite database per run under var/sim-runs/ and the in-process bus."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import httpx
import uvicorn
import yaml

from hub.clock import ScaledClock, get_clock, set_clock
from hub.config import Settings
from simulators.common.runner import SimulatorProcess, free_port
from simulators.scenario.endpoints import Endpoints, Service
from simulators.scenario.model import Scenario

ADMIN_USCC = "91370200M3C0ADM1NM"
CUSTOMS_USCC = "11100000000013127D"
TAX_USCC = "11370000M3C0TAX015"
RUNS_DIR = Path("var/sim-runs")


class ServerThread:
    """uvicorn serving `app` from a background thread of this process."""

    def __init__(self, app: Any, port: int) -> None:
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="hub-http", daemon=True)
        self.url = f"http://127.0.0.1:{port}"

    def start(self, timeout: float = 60.0) -> None:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.server.started:
                return
            if not self.thread.is_alive():
                raise RuntimeError("the hub stopped while starting (see the log above)")
            time.sleep(0.05)
        raise RuntimeError(f"the hub did not start within {timeout:.0f} s")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


def _parties(scenario: Scenario) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The run's parties file (scenario traders + admin, customs, tax authority) with fresh keys."""
    keys: dict[str, str] = {}
    rows: list[dict[str, Any]] = []

    def add(ref: str, row: dict[str, Any]) -> None:
        keys[ref] = f"sim-{ref}-{secrets.token_urlsafe(12)}"
        rows.append({**row, "keys": [{"key": keys[ref], "label": "scenario run"}]})

    add("admin", {"uscc": ADMIN_USCC, "name": "swhub administrator", "roles": ["admin"]})
    add("customs", {"uscc": CUSTOMS_USCC, "name": "青岛海关 Qingdao Customs", "roles": ["customs"]})
    add("tax", {"uscc": TAX_USCC, "name": "国家税务总局山东省税务局", "roles": ["tax_officer"]})
    terminal = scenario.terminal
    entrusted = _entrustments(scenario)
    for ref, p in scenario.parties.items():
        row: dict[str, Any] = {
            "uscc": p.uscc,
            "name": p.name,
            "roles": list(p.roles),
            "credit_class": p.credit_class,
            "ftz": p.ftz,
            "reputable": p.reputable,
        }
        if p.refund_class is not None:
            row["refund_class"] = p.refund_class
        if p.terminal_code or (terminal and terminal.operator == ref):
            row["terminal_code"] = p.terminal_code or (terminal.code if terminal else None)
        if "tally" in p.roles and terminal:
            row["terminals"] = [terminal.code]  # the tally company is assigned to the scenario terminal
        if entrusted.get(ref):
            row["entrusted_by"] = sorted(entrusted[ref])
        add(ref, row)
    return rows, keys


def _entrustments(scenario: Scenario) -> dict[str, set[str]]:
    """broker ref -> the consignees whose bills it declares: each entrusted it (代理报关委托)."""
    from messages.xml.samples import TRADE_CO_SCC

    out: dict[str, set[str]] = {}
    for _, cons in scenario.consignments():
        for kind in ("summary", "complete"):
            declare = getattr(cons.declarations, kind)
            if declare is not None:
                consignee = scenario.parties[declare.importer].uscc if declare.importer else TRADE_CO_SCC
                out.setdefault(declare.by, set()).add(consignee)
    return out


def _drop_connections(name_prefix: str) -> int:
    """Close, from the broker side, every connection this hub opened (a network cut, as seen by it)."""
    if shutil.which("rabbitmqctl") is None:
        return 0
    listed = subprocess.run(
        ["rabbitmqctl", "-q", "list_connections", "--no-table-headers", "pid", "client_properties"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    ).stdout
    pids = [
        pid
        for pid, _, properties in (line.partition("\t") for line in listed.splitlines())
        if f'{{"connection_name","{name_prefix}' in properties
    ]
    # in parallel: one rabbitmqctl call takes about a second, the cut should hit every connection at once
    cuts = [
        subprocess.Popen(
            ["rabbitmqctl", "-q", "close_connection", pid, "swhub scenario: connection cut"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for pid in pids
    ]
    for cut in cuts:
        cut.wait(timeout=60)
    return len(pids)


def own_vhost(amqp_url: str, tag: str) -> tuple[str, str | None]:
    """A virtual host of the run's own when the broker is local (rabbitmqctl on PATH): hubs and
    simulators of other runs on the same broker share the exchange names (swhub.ingress, swhub.notices,
    the dead-letter queue), so without one they would see each other's traffic. Returns the URL to use
    and the vhost to delete afterwards (None: the given URL, shared)."""
    if shutil.which("rabbitmqctl") is None:
        return amqp_url, None
    vhost = f"swhub-sim-{tag}"
    parsed = urlsplit(amqp_url)
    user = unquote(parsed.username or "guest")
    made = subprocess.run(
        ["rabbitmqctl", "-q", "add_vhost", vhost], capture_output=True, timeout=60, check=False
    )
    if made.returncode != 0:
        return amqp_url, None
    subprocess.run(
        ["rabbitmqctl", "-q", "set_permissions", "-p", vhost, user, ".*", ".*", ".*"],
        capture_output=True,
        timeout=60,
        check=False,
    )
    return urlunsplit(parsed._replace(path="/" + quote(vhost, safe=""))), vhost


def drop_vhost(vhost: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], capture_output=True, timeout=60, check=False)


def _delete_queues(amqp_url: str, prefixes: tuple[str, ...]) -> None:
    """Remove this run's own queues (unique names) so repeated runs leave nothing behind."""
    import pika

    try:
        connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    except pika.exceptions.AMQPError:
        return
    channel = connection.channel()
    for name in prefixes:
        try:
            channel.queue_delete(name)
        except pika.exceptions.AMQPError:
            channel = connection.channel()
    connection.close()


@contextmanager
def local_stack(
    scenario: Scenario,
    *,
    amqp_url: str | None = None,
    database_url: str | None = None,
    work_dir: Path | None = None,
) -> Iterator[Endpoints]:
    """Start the hub and the simulators for `scenario`; yield where they are; stop everything."""
    from hub.api.app import create_app
    from hub.bus.rabbitmq import RabbitBus
    from hub.runtime import Hub

    amqp_url = amqp_url if amqp_url is not None else os.environ.get("HUB_AMQP_URL") or None
    database_url = database_url or os.environ.get("HUB_DATABASE_URL") or None
    tag = uuid.uuid4().hex[:8]
    run_vhost: str | None = None
    if amqp_url:
        amqp_url, run_vhost = own_vhost(amqp_url, tag)
    work = work_dir or RUNS_DIR / f"{scenario.name}-{tag}"
    work.mkdir(parents=True, exist_ok=True)
    rows, keys = _parties(scenario)
    parties_file = work / "parties.yaml"
    parties_file.write_text(yaml.safe_dump({"parties": rows}, allow_unicode=True), encoding="utf-8")
    hub_port, customs_port = free_port(), free_port()
    hub_url = f"http://127.0.0.1:{hub_port}"
    prefix = f"swhub.sim{tag}"
    env_overrides = {
        "HUB_CLEARANCE_QUEUE_PREFIX": f"{prefix}.clearance",
        "HUB_CLEARANCE_SWEEP_SECONDS": "30",
        "HUB_REFUND_QUEUE_PREFIX": f"{prefix}.refunds",
        "HUB_REFUND_SWEEP_SECONDS": "30",
    }
    if not amqp_url:  # in-process bus: customs cannot consume the hub's bus, so the hub pushes over HTTP
        env_overrides["HUB_CLEARANCE_CUSTOMS_URL"] = f"http://127.0.0.1:{customs_port}"
    saved_env = {k: os.environ.get(k) for k in env_overrides}
    os.environ.update(env_overrides)
    previous_clock = set_clock(ScaledClock(scenario.start, scenario.speed))
    settings = Settings(
        database_url=database_url or f"sqlite:///{(work / 'hub.db').resolve()}",
        amqp_url=amqp_url,
        api_keys_file=parties_file,
        _env_file=None,
    )  # type: ignore[call-arg]
    bus = (
        RabbitBus(amqp_url, default_delivery_limit=settings.delivery_limit, name=prefix) if amqp_url else None
    )
    hub = Hub(settings, bus=bus)
    server = ServerThread(create_app(hub), hub_port)
    processes: list[SimulatorProcess] = []
    try:
        server.start()
        processes, services = _start_simulators(scenario, hub_url, customs_port, keys, amqp_url, prefix)
        refunds = hub.refunds  # type: ignore[attr-defined]
        refunds.settings.tax_wsdl_url = f"{services['tax'].url}/soap?wsdl"
        refunds.settings.bank_url = services["bank"].url
        refunds.settings.bank_api_key = keys["tax"]
        refunds.tax_client()  # load the WSDL now: the first filing must not pay for it in simulated hours
        # The simulated day starts now, not when the hub began starting (seconds ago, hours simulated).
        set_clock(ScaledClock(scenario.start, scenario.speed))
        _sync_clocks(services)
        yield Endpoints(
            hub_url=hub_url,
            keys=keys,
            port=services.get("port"),
            customs=services["customs"],
            tax=services["tax"],
            bank=services["bank"],
            now=lambda: get_clock().now(),
            drop_broker_connections=(lambda: _drop_connections(prefix)) if amqp_url else None,
            bus="rabbitmq" if amqp_url else "in-process",
            extra={
                "work_dir": str(work),
                "database_url": settings.database_url,
                "tag": tag,
                "logs": {p.module: p.log_path for p in processes},
            },
        )
    finally:
        for process in processes:
            process.stop()
        server.stop()
        set_clock(previous_clock)
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        if run_vhost:
            drop_vhost(run_vhost)  # with every queue and exchange of the run
        elif amqp_url:
            _delete_queues(amqp_url, _run_queues(prefix, hub))


def _run_queues(prefix: str, hub: Any) -> tuple[str, ...]:
    names = [f"{prefix}.customs", f"{prefix}.port"]
    for spec in getattr(hub, "_consumer_specs", []):
        queue = getattr(spec, "queue", None)
        name = getattr(queue, "name", queue)
        if isinstance(name, str) and name.startswith(prefix):
            names.append(name)
    return tuple(names)


def _start_simulators(
    scenario: Scenario,
    hub_url: str,
    customs_port: int,
    keys: dict[str, str],
    amqp_url: str | None,
    prefix: str,
) -> tuple[list[SimulatorProcess], dict[str, Service]]:
    clock = f"scaled:{scenario.speed}:{scenario.start.isoformat()}"
    tester = f"sim-tester-{secrets.token_urlsafe(12)}"
    customs_env = {"CUSTOMS_SIM_API_KEY": tester, "CUSTOMS_SIM_SENDER_USCC": CUSTOMS_USCC}
    if amqp_url:
        customs_env |= {"CUSTOMS_SIM_AMQP_URL": amqp_url, "CUSTOMS_SIM_QUEUE": f"{prefix}.customs"}
    else:
        customs_env |= {"CUSTOMS_SIM_HUB_URL": hub_url, "CUSTOMS_SIM_HUB_API_KEY": keys["customs"]}
    specs: dict[str, tuple[str, dict[str, str], int | None]] = {
        "customs": ("simulators.customs", customs_env, customs_port),
        "tax": (
            "simulators.tax",
            {
                "TAX_SIM_CALLBACK_URL": f"{hub_url}/api/v1/refunds/events/tax",
                "TAX_SIM_CALLBACK_API_KEY": keys["tax"],
                "TAX_SIM_API_KEY": tester,
                "TAX_SIM_CLOCK": clock,
            },
            None,
        ),
        "bank": (
            "simulators.bank",
            {
                "BANK_SIM_CALLBACK_URL": f"{hub_url}/api/v1/refunds/events/bank",
                "BANK_SIM_CALLBACK_API_KEY": keys["tax"],
                "BANK_SIM_API_KEY": tester,
                "BANK_SIM_CLOCK": clock,
            },
            None,
        ),
    }
    terminal = scenario.terminal
    if terminal is not None:
        operator, carrier = scenario.parties[terminal.operator], scenario.parties[terminal.carrier_agent]
        port_env = {
            "PORT_SIM_TERMINAL_CODE": terminal.code,
            "PORT_SIM_TERMINAL_USCC": operator.uscc,
            "PORT_SIM_CARRIER_USCC": carrier.uscc,
            "PORT_SIM_API_KEY": tester,
            "PORT_SIM_CLOCK": clock,
        }
        if amqp_url:
            port_env |= {"PORT_SIM_AMQP_URL": amqp_url, "PORT_SIM_QUEUE": f"{prefix}.port"}
        else:
            port_env |= {
                "PORT_SIM_HUB_URL": hub_url,
                "PORT_SIM_TERMINAL_API_KEY": keys[terminal.operator],
                "PORT_SIM_CARRIER_API_KEY": keys[terminal.carrier_agent],
            }
        specs["port"] = ("simulators.port", port_env, None)
    processes = {
        name: SimulatorProcess(module, env={**env, "PYTHONUNBUFFERED": "1"}, port=port)
        for name, (module, env, port) in specs.items()
    }
    errors: list[str] = []

    def start(process: SimulatorProcess) -> None:
        try:
            process.start(timeout=60)
        except RuntimeError as exc:
            errors.append(str(exc))

    threads = [threading.Thread(target=start, args=(p,)) for p in processes.values()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        for p in processes.values():
            p.stop()
        raise RuntimeError("simulators did not start: " + " | ".join(errors))
    services = {name: Service(p.base_url, tester) for name, p in processes.items()}
    return list(processes.values()), services


def _sync_clocks(services: dict[str, Service]) -> None:
    """Every simulator's clock to the hub's simulated now (each started a little later than the hub)."""
    with httpx.Client(timeout=10) as client:
        for name in ("tax", "bank", "port"):
            svc = services.get(name)
            if svc is not None:
                svc.call(client, "POST", "/control/clock", {"set": get_clock().now().isoformat()})
