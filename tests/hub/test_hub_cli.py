"""Every swhub command answers --help; db upgrade works on a fresh database."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import typer.main
from typer.testing import CliRunner

from hub.cli.main import app

ROOT = Path(__file__).parents[2]


def all_command_paths() -> list[list[str]]:
    root = typer.main.get_command(app)
    paths: list[list[str]] = []

    def walk(command: Any, path: list[str]) -> None:
        paths.append(path)
        if hasattr(command, "commands"):  # a group (typer may vendor its own click)
            for name, sub in command.commands.items():
                walk(sub, [*path, name])

    walk(root, [])
    return paths


def test_every_command_has_help() -> None:
    runner = CliRunner()
    paths = all_command_paths()
    expected = {"serve", "worker", "db", "bus", "refunds", "calendar", "risk"}
    assert expected <= {p[0] for p in paths if p}
    for path in paths:
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Usage" in result.output


def test_db_upgrade_on_a_fresh_sqlite_file(tmp_path: Path) -> None:
    db = tmp_path / "fresh.db"
    result = subprocess.run(
        [sys.executable, "-m", "hub.cli.main", "db", "upgrade"],
        env={"HUB_DATABASE_URL": f"sqlite:///{db}", "PATH": "/usr/bin:/bin"},
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert db.exists() and "head" in result.stdout
