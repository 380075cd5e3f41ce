"""Every shipped scenario meets all its expectations on the in-process bus (SQLite) and on RabbitMQ
(a fresh PostgreSQL database), with the hub on an accelerated clock and the customs, port, tax and bank
simulators as their own processes. rough-day injects duplicates, reordering, a malformed manifest and
connection drops (port side, and on RabbitMQ every hub connection is cut by the broker)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from hub.cli.simstack import local_stack
from simulators.scenario.load import load, shipped
from simulators.scenario.runner import ScenarioRunner
from tests.hub_clearance.clrfixtures import fresh_postgres

pytestmark = pytest.mark.slow


@pytest.fixture(params=["in-process", "rabbitmq"])
def backends(request: pytest.FixtureRequest) -> Iterator[dict[str, str | None]]:
    with ExitStack() as stack:
        if request.param == "rabbitmq":
            amqp_url = request.getfixturevalue("amqp_url")
            yield {"amqp_url": amqp_url, "database_url": stack.enter_context(fresh_postgres())}
        else:
            yield {"amqp_url": "", "database_url": None}


def test_the_shipped_set_is_complete() -> None:
    assert {
        "normal-day",
        "inspections-and-weight",
        "late-manifest",
        "refund-week-holiday",
        "rough-day",
        "demo",
    } <= set(shipped())


@pytest.mark.parametrize("name", shipped())
def test_scenario_meets_its_expectations(name: str, backends: dict[str, str | None], tmp_path) -> None:
    scenario = load(name)
    with local_stack(
        scenario, amqp_url=backends["amqp_url"], database_url=backends["database_url"], work_dir=tmp_path
    ) as endpoints:
        assert endpoints.bus == ("rabbitmq" if backends["amqp_url"] else "in-process")
        result = ScenarioRunner(scenario, endpoints, real_timeout=240).run()
    failed = [c.line() for c in result.failed]
    assert result.ok, f"{name} on {endpoints.bus}: {failed} errors={result.errors}"
    assert len(result.checks) >= 5  # the scenario really checked something
