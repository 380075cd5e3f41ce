"""`swhub parties keys issue|list|rotate|revoke USCC`: a party's API keys on the configured database.
The same operations as the admin endpoints under /api/v1/parties/{uscc}/keys, for the operator at the
console (e.g. the first admin key of a hub whose bootstrap file no longer holds plain keys)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer

parties_app = typer.Typer(help="Parties and their API keys.", no_args_is_help=True)
keys_app = typer.Typer(help="Issue, list, rotate and revoke a party's API keys.", no_args_is_help=True)
parties_app.add_typer(keys_app, name="keys")


def _run(uscc: str, action: str, fn: Callable[[Any], Any]) -> Any:
    from hub.config import get_settings
    from hub.db import audit
    from hub.db.session import Database
    from hub.services.api_keys import KeyError_
    from hub.services.parties import uscc_problem

    problem = uscc_problem(uscc)
    if problem:
        typer.echo(f"error: USCC {problem}", err=True)
        raise typer.Exit(2)
    db = Database(get_settings().database_url)
    try:
        with db.unit_of_work() as session:
            out = fn(session)
            audit.record(session, "cli", action, "party", uscc, {})
            return out
    except KeyError_ as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1 if exc.status == 404 else 2) from None
    finally:
        db.dispose()


def _show_issued(issued: Any) -> None:
    typer.echo(f"key:    {issued.key}")
    typer.echo(f"prefix: {issued.info.prefix}  (shown once: store the key now; only its hash is kept)")


@keys_app.command("issue")
def issue(
    uscc: str = typer.Argument(..., help="The party's 18-character USCC."),
    role: list[str] = typer.Option([], "--role", help="Narrow the key to this role (repeatable)."),
    label: str = typer.Option("", "--label", help="What the key is for."),
) -> None:
    """Issue a new API key for the party (printed once)."""
    from hub.services import api_keys

    _show_issued(_run(uscc, "key.issue", lambda s: api_keys.issue(s, uscc, role, label)))


@keys_app.command("list")
def list_(uscc: str = typer.Argument(..., help="The party's 18-character USCC.")) -> None:
    """The party's keys by prefix (of their SHA-256), never the keys themselves."""
    from hub.services import api_keys

    for k in _run(uscc, "key.list", lambda s: api_keys.list_keys(s, uscc)):
        state = "revoked" if k.revoked else "active"
        roles = ",".join(k.roles) or "(party roles)"
        typer.echo(f"{k.prefix}  {state:7}  {roles}  {k.created_at:%Y-%m-%d %H:%M}  {k.label}")


@keys_app.command("rotate")
def rotate(
    uscc: str = typer.Argument(..., help="The party's 18-character USCC."),
    prefix: str = typer.Argument(..., help="The key's prefix as `list` shows it."),
) -> None:
    """Replace a key by a new one with the same roles; the old one stops working at once."""
    from hub.services import api_keys

    _show_issued(_run(uscc, "key.rotate", lambda s: api_keys.rotate(s, uscc, prefix)))


@keys_app.command("revoke")
def revoke(
    uscc: str = typer.Argument(..., help="The party's 18-character USCC."),
    prefix: str = typer.Argument(..., help="The key's prefix as `list` shows it."),
) -> None:
    """Revoke a key: its next request is refused."""
    from hub.services import api_keys

    info = _run(uscc, "key.revoke", lambda s: api_keys.revoke(s, uscc, prefix))
    typer.echo(f"revoked {info.prefix}")


def register(app: typer.Typer) -> None:
    app.add_typer(parties_app, name="parties")
