"""bus declare: create the hub's exchanges and dead-letter queue on the configured RabbitMQ broker."""

from __future__ import annotations

import typer

bus_app = typer.Typer(help="Message bus (RabbitMQ) administration.", no_args_is_help=True)


DECLARE_HELP = (
    "Declare the default topology idempotently and print what was declared.\n\n"
    "Creates the durable topic exchanges swhub.inbound, swhub.notices and swhub.events, the "
    "dead-letter exchange swhub.dlx and the quorum queue swhub.dead-letters bound to it with '#'.\n\n"
    "Safe to run again: existing objects are left as they are; a conflicting definition is reported "
    "(exit 1), never changed. Consumer queues are declared by the hub itself when it starts."
)


@bus_app.command(help=DECLARE_HELP)
def declare(
    url: str | None = typer.Option(
        None, "--url", help="AMQP URL of the broker; default: HUB_AMQP_URL from the environment or .env."
    ),
    timeout: float = typer.Option(20.0, "--timeout", min=0.0, help="Seconds to keep retrying the broker."),
) -> None:
    from hub.bus.base import BusError
    from hub.bus.rabbitmq import RabbitBus
    from hub.bus.topology import default_topology, describe
    from hub.config import get_settings

    amqp_url = url or get_settings().amqp_url
    if not amqp_url:
        typer.echo(
            "No broker configured: set HUB_AMQP_URL or pass --url. "
            "(Without one the hub uses its in-process bus, which needs no declaration.)",
            err=True,
        )
        raise typer.Exit(2)
    topology = default_topology()
    bus = RabbitBus(amqp_url, name="swhub-cli", admin_timeout=timeout)
    try:
        bus.declare(topology)
    except BusError as exc:
        typer.echo(f"declare failed: {exc}", err=True)
        raise typer.Exit(1) from exc
    finally:
        bus.close()
    typer.echo(f"declared on {amqp_url.rsplit('@', 1)[-1]}:")
    for line in describe(topology):
        typer.echo(f"  {line}")


def register(app: typer.Typer) -> None:
    app.add_typer(bus_app, name="bus")
