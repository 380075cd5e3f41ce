"""compose.yaml is valid against the Compose Specification schema and wires the whole stack: every
service has a health check, dependencies wait for health, every simulator is there, and every
environment variable a swhub container gets is a real setting (a renamed setting breaks this test)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import jsonschema
import pytest
import yaml
from pydantic_settings import BaseSettings

from hub.api.routes.refunds import router as refunds_router
from hub.config import Settings
from hub.services.clearance.settings import ClearanceSettings
from hub.services.refunds.settings import RefundSettings
from simulators.bank.settings import BankSimSettings
from simulators.customs.app import CustomsSimSettings
from simulators.port.settings import PortSimSettings
from simulators.tax.settings import TaxSimSettings

ROOT = Path(__file__).parents[2]
# vendored: the suite reads nothing outside the repository
SCHEMA = Path(__file__).parent / "data" / "compose-spec.json"
SIMULATORS = {
    "tax-sim": "simulators.tax",
    "bank-sim": "simulators.bank",
    "customs-sim": "simulators.customs",
    "port-sim": "simulators.port",
}
# longest prefix first: HUB_REFUND_X is a refund setting, not a hub one
SETTINGS: list[tuple[str, type[BaseSettings]]] = [
    ("HUB_CLEARANCE_", ClearanceSettings),
    ("HUB_REFUND_", RefundSettings),
    ("HUB_", Settings),
    ("TAX_SIM_", TaxSimSettings),
    ("BANK_SIM_", BankSimSettings),
    ("CUSTOMS_SIM_", CustomsSimSettings),
    ("PORT_SIM_", PortSimSettings),
]
NOT_SETTINGS = {"TZ"}  # process environment, not a swhub setting


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    jsonschema.validate(data, json.loads(SCHEMA.read_text(encoding="utf-8")))
    return data


def setting_names(cls: type[BaseSettings]) -> set[str]:
    prefix = cls.model_config.get("env_prefix", "")
    return {f"{prefix}{name}".upper() for name in cls.model_fields}


def env_of(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    assert isinstance(env, dict), "environment as a mapping, so names can be checked"
    return {k: str(v) for k, v in env.items()}


def port_arg(service: dict[str, Any]) -> int:
    command = service["command"]
    return int(command[command.index("--port") + 1])


def test_compose_file_is_valid_and_complete(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"rabbitmq", "postgres", "hub-api", "hub-worker", *SIMULATORS} <= set(services)
    hub_env = env_of(services["hub-api"])
    assert hub_env["HUB_AMQP_URL"].startswith("amqp://") and "rabbitmq" in hub_env["HUB_AMQP_URL"]
    assert hub_env["HUB_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert "management" in services["rabbitmq"]["image"]
    assert any("15672" in str(p) for p in services["rabbitmq"]["ports"])


def test_every_service_has_a_healthcheck_and_waits_for_healthy_dependencies(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, service in services.items():
        assert service.get("healthcheck", {}).get("test"), f"{name} has no health check"
        test = service["healthcheck"]["test"]
        if test[:3] == ["CMD", "python", "-c"]:  # the snippet must at least be Python
            compile(test[3], f"{name} healthcheck", "exec")
        for dependency, condition in (service.get("depends_on") or {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            assert condition == {"condition": "service_healthy"}, f"{name} -> {dependency}"


def test_simulators_run_their_module_and_are_checked_on_their_own_port(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, module in SIMULATORS.items():
        service = services[name]
        assert service["command"][:3] == ["python", "-m", module], name
        port = port_arg(service)
        health = " ".join(service["healthcheck"]["test"])
        assert f"http://127.0.0.1:{port}/health" in health and "urllib" in health, name
        assert f"{port}:{port}" in service["ports"], name
        assert service["depends_on"]["hub-api"] == {"condition": "service_healthy"}, name


def test_environment_variable_names_are_real_settings(compose: dict[str, Any]) -> None:
    known = {prefix: setting_names(cls) for prefix, cls in SETTINGS}
    assert "CUSTOMS_SIM_API_KEY" in known["CUSTOMS_SIM_"]  # the names are read, not assumed
    for name, service in compose["services"].items():
        if service.get("build") is None:
            continue  # third-party images (rabbitmq, postgres) have their own variables
        for var in env_of(service):
            if var in NOT_SETTINGS:
                continue
            prefix = next((p for p, _ in SETTINGS if var.startswith(p)), None)
            assert prefix is not None, f"{name}: {var} belongs to no settings class"
            owner = dict(SETTINGS)[prefix].__name__
            assert var in known[prefix], f"{name}: {var} is not a setting of {owner}"


def test_simulators_are_wired_to_the_broker_and_the_hub(compose: dict[str, Any]) -> None:
    services = compose["services"]
    rabbit_env = env_of(services["rabbitmq"])
    user, password = rabbit_env["RABBITMQ_DEFAULT_USER"], rabbit_env["RABBITMQ_DEFAULT_PASS"]
    for name, var in (
        ("customs-sim", "CUSTOMS_SIM_AMQP_URL"),
        ("port-sim", "PORT_SIM_AMQP_URL"),
        ("hub-api", "HUB_AMQP_URL"),
        ("hub-worker", "HUB_AMQP_URL"),
    ):
        url = urlparse(env_of(services[name])[var])
        assert (url.scheme, url.hostname, url.port) == ("amqp", "rabbitmq", 5672), name
        assert (url.username, url.password) == (user, password), name
    # over AMQP, customs must not also be pushed to over HTTP
    assert "HUB_CLEARANCE_CUSTOMS_URL" not in env_of(services["hub-api"])
    hub_port = port_arg(services["hub-api"])
    routes = {getattr(r, "path", "") for r in refunds_router.routes}
    for name, var in (("tax-sim", "TAX_SIM_CALLBACK_URL"), ("bank-sim", "BANK_SIM_CALLBACK_URL")):
        url = urlparse(env_of(services[name])[var])
        assert (url.hostname, url.port) == ("hub-api", hub_port), name
        assert url.path in routes, f"{name} calls back to {url.path}, not a hub route"
    hub_env = env_of(services["hub-api"])
    tax = urlparse(hub_env["HUB_REFUND_TAX_WSDL_URL"])
    assert (tax.hostname, tax.port, tax.path, tax.query) == (
        "tax-sim",
        port_arg(services["tax-sim"]),
        "/soap",
        "wsdl",
    )
    bank = urlparse(hub_env["HUB_REFUND_BANK_URL"])
    assert (bank.hostname, bank.port) == ("bank-sim", port_arg(services["bank-sim"]))
    # the port simulator's default terminal code must be schema-valid (manifest UnloadingLocation ID)
    declared = env_of(services["port-sim"])["PORT_SIM_TERMINAL_CODE"]
    terminal = re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", declared)  # ${VAR:-default} -> default
    assert re.fullmatch(r"[A-Z]{2}[A-Z0-9]{3}(/[0-9A-Z]{1,10})?", terminal)


def test_prometheus_scrapes_the_api_and_the_worker_with_the_token(compose: dict[str, Any]) -> None:
    services = compose["services"]
    prometheus = services["prometheus"]
    config_mount = next(v for v in prometheus["volumes"] if v.endswith("/etc/prometheus/prometheus.yml:ro"))
    config = yaml.safe_load((ROOT / config_mount.split(":")[0]).read_text(encoding="utf-8"))
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    api_port = port_arg(services["hub-api"])
    worker_env = env_of(services["hub-worker"])
    expected = {
        "swhub-api": f"hub-api:{api_port}",
        "swhub-worker": f"hub-worker:{worker_env['HUB_METRICS_PORT']}",
    }
    for job_name, target in expected.items():
        job = jobs[job_name]
        assert job["metrics_path"] == "/metrics"
        assert [target] == job["static_configs"][0]["targets"], job_name
        token_file = job["authorization"]["credentials_file"]
        assert job["authorization"]["type"] == "Bearer" and token_file in " ".join(prometheus["entrypoint"])
    # the token Prometheus writes is the one the hub checks
    assert prometheus["environment"]["METRICS_TOKEN"] == env_of(services["hub-api"])["HUB_METRICS_TOKEN"]
    assert worker_env["HUB_METRICS_TOKEN"] == env_of(services["hub-api"])["HUB_METRICS_TOKEN"]
