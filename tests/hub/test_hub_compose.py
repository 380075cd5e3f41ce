"""compose.yaml is valid against the Compose Specification schema and wires the whole stack."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import yaml

ROOT = Path(__file__).parents[2]
SCHEMA = ROOT.parent / "shared" / "schemas" / "compose-spec.json"


def test_compose_file_is_valid_and_complete() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.validate(compose, schema)
    services = compose["services"]
    assert {"rabbitmq", "postgres", "hub-api", "hub-worker", "tax-sim", "bank-sim"} <= set(services)
    for name in ("rabbitmq", "postgres", "hub-api", "tax-sim", "bank-sim"):
        assert "healthcheck" in services[name], name
    hub_env = services["hub-api"]["environment"]
    assert hub_env["HUB_AMQP_URL"].startswith("amqp://") and "rabbitmq" in hub_env["HUB_AMQP_URL"]
    assert hub_env["HUB_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert "management" in services["rabbitmq"]["image"]
