"""`swhub sim ...` and `swhub demo`: drive the simulators. Each sub-area lives in its own module and
adds its commands to the shared `sim` group: start/status (hub.cli.sim_control), run (hub.cli.sim_run),
demo (hub.cli.demo)."""

from __future__ import annotations

import importlib

import typer

sim_app = typer.Typer(
    help="Simulated customs, port, tax and bank systems: start them, see their status, run scenarios.",
    no_args_is_help=True,
)

_SIM_COMMAND_MODULES: tuple[str, ...] = ("hub.cli.sim_control", "hub.cli.sim_run")


def register(app: typer.Typer) -> None:
    for name in _SIM_COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:  # a module not written yet must not break the rest of the CLI
            if exc.name != name:
                raise
            continue
        module.register(sim_app)
    app.add_typer(sim_app, name="sim")
    try:
        demo = importlib.import_module("hub.cli.demo")
    except ModuleNotFoundError as exc:
        if exc.name != "hub.cli.demo":
            raise
    else:
        demo.register(app)
