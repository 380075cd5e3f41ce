"""serve / worker commands."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        host: str = typer.Option("127.0.0.1", help="Interface to bind."),
        port: int = typer.Option(8000, help="TCP port."),
    ) -> None:
        """Run the HTTP API and the bus workers (on the embedded default, in one process)."""
        import uvicorn

        from hub.api.app import create_app

        uvicorn.run(create_app(), host=host, port=port, log_level="info")
