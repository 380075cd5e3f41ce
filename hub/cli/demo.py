"""`swhub demo`: the whole product in under a minute. Plays simulators/scenarios/demo.yaml on the
embedded default (SQLite, in-process bus; the simulators as local processes over HTTP) or, with
HUB_AMQP_URL set, over RabbitMQ with every simulator consuming and publishing on the broker; prints
the live timeline and a summary."""

from __future__ import annotations

import typer

from hub.cli.sim_run import console, run_scenario


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        speed: float = typer.Option(None, help="Simulated seconds per real second (default 3000)."),
        quiet: bool = typer.Option(False, help="No progress bar."),
    ) -> None:
        """Run a complete scenario (vessel, early declarations, inspection, releases, refunds) and print a
        readable timeline and a summary. Exit code as `swhub sim run`."""
        raise typer.Exit(
            run_scenario("demo", speed=speed, timeout=240.0, quiet=quiet, json_out=None, console=console)
        )
