"""db upgrade / downgrade: Alembic migrations on the configured database."""

from __future__ import annotations

import typer

db_app = typer.Typer(help="Database schema migrations (SQLite or PostgreSQL).", no_args_is_help=True)


@db_app.command()
def upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Migrate the database at HUB_DATABASE_URL up to REVISION (default: head)."""
    from hub.config import get_settings
    from hub.db.migrate import upgrade as run_upgrade

    url = get_settings().database_url
    run_upgrade(url, revision)
    typer.echo(f"database at {url.split('@')[-1]} is at {revision}")


@db_app.command()
def downgrade(revision: str = typer.Argument(..., help="Target revision, e.g. base.")) -> None:
    """Migrate the database down to REVISION."""
    from hub.config import get_settings
    from hub.db.migrate import downgrade as run_downgrade

    run_downgrade(get_settings().database_url, revision)
    typer.echo(f"database downgraded to {revision}")


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
