"""`swhub convert` and `swhub validate`: single-window XML <-> UN/EDIFACT from the command line.

Thin layer over messages.convert. Every expected failure prints one line per problem (with its
location) on stderr and exits non-zero; no traceback reaches the user.

The work is done by `run_convert` / `run_validate`, which import neither typer nor anything
hub-wide: `hub.cli.main` calls them straight from a small argparse front end (`fast_main`) when the
command line is a plain convert/validate, so a script calling `swhub convert` once per file pays
for the conversion, not for loading the CLI framework. `--help` still goes through typer.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

EXIT_INVALID = 1  # the message is invalid / cannot be converted
EXIT_USAGE = 2  # unreadable input, unknown partner, bad option
DEFAULT_PARTNERS_FILE = Path("config/partners.yaml")


def _fail(lines: list[str], code: int) -> NoReturn:
    for line in lines:
        print(f"error: {line}", file=sys.stderr)
    raise SystemExit(code)


def _warn(issues: list[Any], prefix: str) -> None:
    """What the conversion tolerated or left out: on stderr, never silently (the exit stays 0)."""
    for issue in issues:
        print(f"warning: {prefix}{issue}", file=sys.stderr)


def _read_input(source: str) -> bytes:
    if source == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(source).read_bytes()
    except OSError as exc:
        _fail([f"cannot read {source}: {exc.strerror or exc}"], EXIT_USAGE)


def _expand(sources: list[str]) -> list[str]:
    """Files as given; a directory stands for the files in it (sorted, hidden ones skipped)."""
    out: list[str] = []
    for source in sources:
        path = Path(source)
        if source != "-" and path.is_dir():
            out += [str(p) for p in sorted(path.iterdir()) if p.is_file() and not p.name.startswith(".")]
        else:
            out.append(source)
    return out


class Profiles:
    """The partner profiles file, read once (and only when a profile is asked for or matched)."""

    def __init__(self, partners_file: Path | None) -> None:
        env = os.environ.get("SWHUB_PARTNERS_FILE")
        self.path = partners_file or (Path(env) if env else DEFAULT_PARTNERS_FILE)
        self.explicit = partners_file is not None or bool(env)
        self._loaded: dict[str, Any] | None = None

    def all(self) -> dict[str, Any]:
        if self._loaded is None:
            from messages.errors import ValidationFailed
            from messages.partners import load_partners_file

            if not self.explicit and not self.path.exists():
                self._loaded = {}  # no profiles configured: every interchange gets the default
                return self._loaded
            try:
                self._loaded = load_partners_file(self.path)
            except OSError as exc:
                _fail([f"cannot read partner profiles {self.path}: {exc.strerror or exc}"], EXIT_USAGE)
            except ValidationFailed as exc:
                _fail([f"{self.path}: {issue}" for issue in exc.issues], EXIT_USAGE)
        return self._loaded

    def named(self, name: str) -> Any:
        partners = self.all()
        if name not in partners:
            known = ", ".join(sorted(partners)) or "none"
            _fail([f"unknown partner {name!r} in {self.path} (known: {known})"], EXIT_USAGE)
        return partners[name]

    def for_data(self, name: str | None, data: bytes) -> Any:
        """--partner wins; otherwise the profile whose `match` names the interchange's UNB sender."""
        if name:
            return self.named(name)
        from messages.detect import unb_sender
        from messages.partners import select_profile

        sender = unb_sender(data)
        return select_profile(self.all(), sender) if sender else None


def _issue_lines(exc: Exception, prefix: str = "") -> list[str]:
    from messages.errors import ValidationFailed

    if isinstance(exc, ValidationFailed):
        return [f"{prefix}{issue}" for issue in exc.issues]
    return [f"{prefix}{exc}"]


def _progress(total: int) -> Iterator[None] | None:
    """A progress bar on stderr, only when it is a terminal and there is more than one input."""
    if total < 2 or not sys.stderr.isatty():
        return None
    return _bar(total)


def _bar(total: int) -> Iterator[None]:
    width = 30
    for done in range(1, total + 1):
        filled = width * done // total
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        sys.stderr.flush()
        yield
    sys.stderr.write("\n")


def _write(documents: list[Any], output: Path | None, batch: bool) -> list[Path]:
    """Write the documents; returns the files written ([] when written to stdout)."""
    if output is None:
        if len(documents) > 1:
            _fail([f"the interchange holds {len(documents)} messages: give a directory with -o"], EXIT_USAGE)
        sys.stdout.buffer.write(documents[0].content)
        sys.stdout.flush()
        return []
    written: list[Path] = []
    try:
        if batch or len(documents) > 1 or output.is_dir():
            output.mkdir(parents=True, exist_ok=True)
            for doc in documents:
                target = output / doc.name
                target.write_bytes(doc.content)
                written.append(target)
        else:
            output.write_bytes(documents[0].content)
            written.append(output)
    except OSError as exc:
        _fail([f"cannot write {output}: {exc.strerror or exc}"], EXIT_USAGE)
    return written


def run_convert(
    sources: list[str],
    output: Path | None = None,
    to: str | None = None,
    encoding: str | None = None,
    partner: str | None = None,
    partners_file: Path | None = None,
) -> None:
    from messages.convert import convert
    from messages.errors import MessageError

    inputs = _expand(sources)
    if not inputs:
        _fail(["no input files"], EXIT_USAGE)
    batch = len(inputs) > 1
    if batch and output is None:
        _fail([f"{len(inputs)} inputs: give an output directory with -o"], EXIT_USAGE)
    profiles = Profiles(partners_file)
    bar = _progress(len(inputs))
    failures: list[str] = []
    for source in inputs:
        data = _read_input(source)
        profile = profiles.for_data(partner, data)
        prefix = f"{source}: " if batch else ""
        warnings: list[Any] = []
        try:
            documents = convert(data, to=to, encoding=encoding, partner=profile, warnings=warnings)
        except MessageError as exc:
            failures += _issue_lines(exc, prefix)
            documents = []
        except LookupError as exc:  # unknown --encoding codec name
            _fail([f"unknown encoding: {exc}"], EXIT_USAGE)
        if bar is not None:
            next(bar, None)
        _warn(warnings, prefix)
        if not documents:
            continue
        if batch:
            # one output per input, named after it, so two inputs never overwrite each other
            stem = Path(source).stem
            documents = [
                _renamed(d, f"{stem}-{d.name}" if len(documents) > 1 else _with_stem(stem, d.name))
                for d in documents
            ]
        for path in _write(documents, output, batch):
            print(str(path), file=sys.stderr if output is None else sys.stdout)
    if failures:
        _fail(failures, EXIT_INVALID)


def _with_stem(stem: str, name: str) -> str:
    return stem + Path(name).suffix


def _renamed(doc: Any, name: str) -> Any:
    from dataclasses import replace

    return replace(doc, name=name)


def run_validate(
    sources: list[str],
    encoding: str | None = None,
    partner: str | None = None,
    partners_file: Path | None = None,
) -> None:
    from messages.convert import validate

    inputs = _expand(sources)
    if not inputs:
        _fail(["no input files"], EXIT_USAGE)
    batch = len(inputs) > 1
    profiles = Profiles(partners_file)
    problems: list[str] = []
    for source in inputs:
        data = _read_input(source)
        profile = profiles.for_data(partner, data)
        warnings: list[Any] = []
        try:
            issues = validate(data, encoding=encoding, partner=profile, warnings=warnings)
        except LookupError as exc:
            _fail([f"unknown encoding: {exc}"], EXIT_USAGE)
        prefix = f"{source}: " if batch else ""
        if not issues:
            _warn(warnings, prefix)
        problems += [f"{prefix}{issue}" for issue in issues]
    if problems:
        _fail(problems, EXIT_INVALID)
    print("valid")


# ------------------------------------------------------------------------------ fast front end


def _parser(command: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"swhub {command}", add_help=False)
    parser.add_argument("sources", nargs="+")
    if command == "convert":
        parser.add_argument("-o", "--output", type=Path)
        parser.add_argument("--to")
    parser.add_argument("--encoding")
    parser.add_argument("--partner")
    parser.add_argument("--partners-file", type=Path)
    return parser


def fast_main(argv: list[str]) -> int | None:
    """Run `convert`/`validate` without typer; None when typer must handle it (--help, odd usage)."""
    if not argv or argv[0] not in ("convert", "validate") or any(a in ("-h", "--help") for a in argv):
        return None
    try:
        args, extra = _parser(argv[0]).parse_known_args(argv[1:])
    except SystemExit:
        return None
    if extra:
        return None  # let typer produce its usual usage error
    try:
        if argv[0] == "convert":
            run_convert(args.sources, args.output, args.to, args.encoding, args.partner, args.partners_file)
        else:
            run_validate(args.sources, args.encoding, args.partner, args.partners_file)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


# ------------------------------------------------------------------------------ typer commands


def register(app: Any) -> None:
    import typer

    def convert_command(
        sources: list[str] = typer.Argument(
            ..., metavar="INPUT...", help="Message files or directories, or - for stdin."
        ),
        output: Path | None = typer.Option(
            None,
            "-o",
            "--output",
            help="Output file; a directory for several inputs or an interchange of several messages.",
        ),
        to: str | None = typer.Option(None, "--to", help="xml or edifact (default: the other format)."),
        encoding: str | None = typer.Option(
            None, "--encoding", help="Codec override for EDIFACT input, e.g. gbk."
        ),
        partner: str | None = typer.Option(
            None,
            "--partner",
            help="Partner profile name (default: the profile whose match names the UNB sender).",
        ),
        partners_file: Path | None = typer.Option(
            None,
            "--partners-file",
            help="Partner profiles file (default: $SWHUB_PARTNERS_FILE or config/partners.yaml).",
        ),
    ) -> None:
        """Convert messages between single-window XML and UN/EDIFACT (format and type are detected).

        With -o, prints each file written."""
        run_convert(sources, output, to, encoding, partner, partners_file)

    def validate_command(
        sources: list[str] = typer.Argument(
            ..., metavar="INPUT...", help="Message files or directories, or - for stdin."
        ),
        encoding: str | None = typer.Option(None, "--encoding", help="Codec override for EDIFACT input."),
        partner: str | None = typer.Option(None, "--partner", help="Partner profile name."),
        partners_file: Path | None = typer.Option(None, "--partners-file", help="Partner profiles file."),
    ) -> None:
        """Validate messages (XSD + semantic for XML; syntax, structure and mapping for EDIFACT)."""
        run_validate(sources, encoding, partner, partners_file)

    app.command("convert")(convert_command)
    app.command("validate")(validate_command)
