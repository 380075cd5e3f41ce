"""`swhub convert` and `swhub validate`: single-window XML <-> UN/EDIFACT from the command line.

Thin layer over messages.convert. Every expected failure prints one line per problem (with its
location) on stderr and exits non-zero; no traceback reaches the user.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import NoReturn

import typer

EXIT_INVALID = 1  # the message is invalid / cannot be converted
EXIT_USAGE = 2  # unreadable input, unknown partner, bad option
DEFAULT_PARTNERS_FILE = Path("config/partners.yaml")


def _fail(lines: list[str], code: int) -> NoReturn:
    for line in lines:
        typer.echo(f"error: {line}", err=True)
    raise typer.Exit(code)


def _read_input(source: str) -> bytes:
    if source == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(source).read_bytes()
    except OSError as exc:
        _fail([f"cannot read {source}: {exc.strerror or exc}"], EXIT_USAGE)


def _partner(name: str | None, partners_file: Path | None):
    from messages.errors import ValidationFailed
    from messages.partners import load_partners_file

    if name is None:
        return None
    path = partners_file or Path(os.environ.get("SWHUB_PARTNERS_FILE", DEFAULT_PARTNERS_FILE))
    try:
        partners = load_partners_file(path)
    except OSError as exc:
        _fail([f"cannot read partner profiles {path}: {exc.strerror or exc}"], EXIT_USAGE)
    except ValidationFailed as exc:
        _fail([f"{path}: {issue}" for issue in exc.issues], EXIT_USAGE)
    if name not in partners:
        _fail(
            [f"unknown partner {name!r} in {path} (known: {', '.join(sorted(partners)) or 'none'})"],
            EXIT_USAGE,
        )
    return partners[name]


def _issue_lines(exc: Exception) -> list[str]:
    from messages.errors import ValidationFailed

    if isinstance(exc, ValidationFailed):
        return [str(issue) for issue in exc.issues]
    return [str(exc)]


def convert_command(
    source: str = typer.Argument(..., metavar="INPUT", help="Message file, or - for stdin."),
    output: Path | None = typer.Option(
        None, "-o", "--output", help="Output file; a directory when the interchange holds several messages."
    ),
    to: str | None = typer.Option(None, "--to", help="xml or edifact (default: the other format)."),
    encoding: str | None = typer.Option(
        None, "--encoding", help="Codec override for EDIFACT input, e.g. gbk."
    ),
    partner: str | None = typer.Option(
        None, "--partner", help="Partner profile name (config/partners.yaml)."
    ),
    partners_file: Path | None = typer.Option(None, "--partners-file", help="Partner profiles file."),
) -> None:
    """Convert a message between single-window XML and UN/EDIFACT (format and type are detected)."""
    from messages.convert import convert
    from messages.errors import MessageError

    data = _read_input(source)
    profile = _partner(partner, partners_file)
    try:
        documents = convert(data, to=to, encoding=encoding, partner=profile)
    except MessageError as exc:
        _fail(_issue_lines(exc), EXIT_INVALID)
    except LookupError as exc:  # unknown --encoding codec name
        _fail([f"unknown encoding: {exc}"], EXIT_USAGE)
    if output is None:
        if len(documents) > 1:
            _fail([f"the interchange holds {len(documents)} messages: give a directory with -o"], EXIT_USAGE)
        sys.stdout.buffer.write(documents[0].content)
        sys.stdout.flush()
        return
    try:
        if len(documents) > 1 or output.is_dir():
            output.mkdir(parents=True, exist_ok=True)
            for doc in documents:
                (output / doc.name).write_bytes(doc.content)
        else:
            output.write_bytes(documents[0].content)
    except OSError as exc:
        _fail([f"cannot write {output}: {exc.strerror or exc}"], EXIT_USAGE)
    for doc in documents:
        typer.echo(f"{doc.message_type}: {doc.name}", err=True)


def validate_command(
    source: str = typer.Argument(..., metavar="INPUT", help="Message file, or - for stdin."),
    encoding: str | None = typer.Option(None, "--encoding", help="Codec override for EDIFACT input."),
    partner: str | None = typer.Option(None, "--partner", help="Partner profile name."),
    partners_file: Path | None = typer.Option(None, "--partners-file", help="Partner profiles file."),
) -> None:
    """Validate a message (XSD + semantic for XML; syntax, structure and mapping for EDIFACT)."""
    from messages.convert import validate

    data = _read_input(source)
    profile = _partner(partner, partners_file)
    try:
        issues = validate(data, encoding=encoding, partner=profile)
    except LookupError as exc:
        _fail([f"unknown encoding: {exc}"], EXIT_USAGE)
    if issues:
        _fail([str(issue) for issue in issues], EXIT_INVALID)
    typer.echo("valid")


def register(app: typer.Typer) -> None:
    app.command("convert")(convert_command)
    app.command("validate")(validate_command)
