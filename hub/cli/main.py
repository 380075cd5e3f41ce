"""`swhub` command line. Each hub.cli.<area> module contributes its commands through register(app)."""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="swhub",
    help="Cross-border trade single-window integration hub.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# One line per command area; each module defines `register(app: typer.Typer) -> None`.
_COMMAND_MODULES: tuple[str, ...] = (
    "hub.cli.server",
    "hub.cli.bus",
    "hub.cli.db",
    "hub.cli.refunds",
    "hub.cli.calendar",
    "hub.cli.risk",
    "hub.cli.convert",
    "hub.cli.sim",
)

for _name in _COMMAND_MODULES:
    importlib.import_module(_name).register(app)


if __name__ == "__main__":  # pragma: no cover
    app()
