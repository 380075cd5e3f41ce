"""serve / worker: run the hub."""

from __future__ import annotations

import logging
import signal
import threading

import typer
from rich.console import Console
from rich.table import Table

console = Console(stderr=True)


def _show_first_run_keys(keys: dict[str, str], path: str) -> None:
    table = Table(title=f"First run: API keys created in {path} (shown once)")
    table.add_column("party (roles)")
    table.add_column("X-API-Key")
    for who, key in keys.items():
        table.add_row(who, key)
    console.print(table)


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        host: str = typer.Option("127.0.0.1", help="Interface to bind."),
        port: int = typer.Option(8000, help="TCP port."),
        simulators: bool = typer.Option(
            True, help="On the embedded default, also run the tax, bank and customs simulators as children."
        ),
    ) -> None:
        """Run the HTTP API with the outbox relay and bus consumers in the same process.

        With no HUB_DATABASE_URL / HUB_AMQP_URL it runs embedded: SQLite under var/, the in-process
        bus, the tax (SOAP) and bank simulators wired to the refund workflow and the customs simulator
        wired to clearance (unless HUB_CLEARANCE_CUSTOMS_URL names a real one). Docs at /docs."""
        import uvicorn

        from hub.api.app import create_app
        from hub.runtime import Hub

        hub = Hub()
        bus_kind = "rabbitmq" if hub.settings.amqp_url else "in-process"
        db_kind = "sqlite" if hub.db.is_sqlite else "postgresql"
        sims = None
        if simulators and hub.settings.embedded_bus:
            from hub.cli.embedded import EmbeddedSimulators

            sims = EmbeddedSimulators(hub, f"http://{host}:{port}")

        def announce(started: Hub) -> None:
            if started.first_run_keys:
                _show_first_run_keys(started.first_run_keys, str(started.settings.api_keys_file))
            if sims is not None:
                for name, url in sims.start().items():
                    console.print(f"simulator {name}: {url}")
                # the X-API-Key of each simulator's /control API (`swhub sim status` reads it too)
                console.print(f"simulator control key: {sims.control_key}", soft_wrap=True)
                for role, target in sims.wiring().items():
                    console.print(f"counterpart {role}: {target}")
                if sims.customs_without_key:
                    console.print(
                        "[yellow]no party with the customs role in the parties file: the customs "
                        "simulator's answers will be refused[/yellow]"
                    )
            else:  # --no-simulators, or RabbitMQ: still say who answers (and what will wait)
                from hub.cli.embedded import wiring

                for role, target in wiring(started, {}).items():
                    console.print(f"counterpart {role}: {target}")
            console.print(f"swhub on http://{host}:{port} (bus: {bus_kind}, database: {db_kind})")

        def stop_simulators(_: Hub) -> None:
            if sims is not None:
                sims.stop()

        app = create_app(hub, on_started=announce, on_stopping=stop_simulators, freeze_heap=True)
        try:
            uvicorn.run(app, host=host, port=port, log_level="info")
        finally:  # a start-up failure never reaches the lifespan's shutdown
            if sims is not None:
                sims.stop()

    @app.command()
    def worker() -> None:
        """Run the outbox relay and bus consumers without HTTP (scale out next to `serve`)."""
        from hub.runtime import Hub

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        from hub.observability.listener import start_if_configured
        from hub.services.catalog import install_workflows

        hub = install_workflows(Hub())
        hub.start()
        hub.bootstrap_parties()
        conf = hub.settings
        listener = start_if_configured(hub.db, conf.metrics_host, conf.metrics_port, conf.metrics_token)
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        console.print("swhub worker running; Ctrl-C to stop")
        stop.wait()
        if listener is not None:
            listener.stop()
        hub.stop()
