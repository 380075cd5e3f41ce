"""`swhub` command line. Each hub.cli.<area> module contributes its commands through register(app).

Startup is lazy: integrators call `swhub convert` once per file from scripts, and importing every
area (pandas, SQLAlchemy, FastAPI, httpx ...) plus the CLI framework cost more than the conversion.
* `swhub convert|validate ...` (no --help) runs hub.cli.convert's argparse front end: no typer,
  nothing hub-wide is imported.
* A command whose module is known loads only that module into the typer app.
* Anything else (`swhub --help`, an unknown command) loads every area so help and errors are complete.
`app` is built on first access (module __getattr__), so `from hub.cli.main import app` still gives
the full Typer app to tests and to `python -m hub.cli.main`.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

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
    "hub.cli.parties",
)

# Commands served by one module alone. Keep in step with that module's register().
_FAST_COMMANDS: dict[str, str] = {"convert": "hub.cli.convert", "validate": "hub.cli.convert"}

_APP: Any = None


def modules_for(argv: list[str]) -> tuple[str, ...]:
    """The command modules needed for this command line (all of them unless the command is known)."""
    first = argv[0] if argv else ""
    if first in _FAST_COMMANDS and not any(a in ("-h", "--help") for a in argv):
        return (_FAST_COMMANDS[first],)
    return _COMMAND_MODULES


def build_app(modules: tuple[str, ...] = _COMMAND_MODULES) -> Any:
    import typer

    app = typer.Typer(
        name="swhub",
        help="Cross-border trade single-window integration hub.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    for name in modules:
        importlib.import_module(name).register(app)
    return app


def _script_argv() -> list[str] | None:
    """The arguments when this process is the `swhub` console script, else None."""
    if sys.argv and sys.argv[0].rsplit("/", 1)[-1] in ("swhub", "swhub.exe"):
        return sys.argv[1:]
    return None


def main() -> Any:
    argv = _script_argv() if _script_argv() is not None else sys.argv[1:]
    from hub.cli.convert import fast_main

    code = fast_main(argv)
    if code is not None:
        sys.exit(code)
    return build_app(modules_for(argv))()


def __getattr__(name: str) -> Any:
    global _APP
    if name != "app":
        raise AttributeError(name)
    argv = _script_argv()
    if argv is not None:
        return main  # the console script calls app(): take the fast path when it applies
    if _APP is None:
        _APP = build_app()
    return _APP


if __name__ == "__main__":  # pragma: no cover
    main()
