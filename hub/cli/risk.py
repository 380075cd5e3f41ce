"""`swhub risk screen | simulate | what-if`: the two-stage admission risk engine from the command line.

Thin layer: read input, call risk/, print JSON. Every expected failure (bad rule set, unreadable or
invalid declaration, unsupported format) prints a clean message on stderr and exits non-zero.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import Any, NoReturn

import typer

risk_app = typer.Typer(
    help="Two-stage admission (两段准入) risk screening: screen a declaration, simulate a population, "
    "compare rule sets before activation.",
    no_args_is_help=True,
)

EXIT_INPUT = 2  # bad input file / rule set


class OutputFormat(StrEnum):
    json = "json"
    table = "table"


class CreditOption(StrEnum):
    aeo = "aeo"
    certified = "certified"
    general = "general"
    discredited = "discredited"


def _fail(message: str, code: int = EXIT_INPUT) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _print(obj: dict[str, Any]) -> None:
    typer.echo(json.dumps(obj, ensure_ascii=False, indent=2))


def _ruleset(rules: Path | None) -> Any:
    from risk import RuleSetError, load_ruleset

    try:
        return load_ruleset(rules)
    except RuleSetError as exc:
        lines = "\n".join(f"  {e}" for e in exc.errors)
        _fail(f"rule set {rules or '(default)'} rejected with {len(exc.errors)} error(s):\n{lines}")


def read_declaration(path: Path) -> Any:
    """Read a declaration file: DecMessage XML or an EDIFACT CUSDEC interchange (its first CUSDEC)."""
    from messages.decode import decode_models
    from messages.errors import MessageError, ValidationFailed
    from messages.models.declaration import Declaration

    try:
        data = path.read_bytes()
    except OSError as exc:
        _fail(f"cannot read {path}: {exc.strerror or exc}")
    try:
        models = decode_models(data)
    except ValidationFailed as exc:
        issues = "\n".join(f"  {i}" for i in getattr(exc, "issues", []))
        _fail(f"{path}: not a valid declaration:\n{issues or exc}")
    except MessageError as exc:
        _fail(f"{path}: {exc}")
    declarations = [m for m in models if isinstance(m, Declaration)]
    if not declarations:
        kinds = ", ".join(sorted({type(m).__name__ for m in models}))
        _fail(f"{path}: not a declaration (DecMessage or CUSDEC); found {kinds}")
    return declarations[0]


def _decimal(value: str | None, name: str) -> Decimal | None:
    if value is None:
        return None
    try:
        d = Decimal(value)
    except InvalidOperation:
        _fail(f"{name}: {value!r} is not a number")
    if not d.is_finite() or d <= 0:
        _fail(f"{name}: must be a positive number of kilograms")
    return d


@risk_app.command("screen")
def screen_cmd(
    file: Path = typer.Argument(..., help="Declaration file: DecMessage XML or EDIFACT CUSDEC."),
    stage: int = typer.Option(
        1, "--stage", min=1, max=2, help="1 = 准许入境 (admission), 2 = 合格入市 (conformity)."
    ),
    credit: CreditOption = typer.Option(
        CreditOption.general, "--credit", help="Trader credit class (overrides the trader profile)."
    ),
    seed: int | None = typer.Option(None, "--seed", help="Sampling seed (default: the rule set's seed)."),
    rules: Path | None = typer.Option(None, "--rules", help="Rule directory (default: shipped risk/rules)."),
    aeo_mra: str | None = typer.Option(None, "--aeo-mra", help="AEO mutual-recognition country, e.g. JPN."),
    manifest_kg: str | None = typer.Option(None, "--manifest-kg", help="Manifest gross weight (kg)."),
    tally_kg: str | None = typer.Option(None, "--tally-kg", help="Tally gross weight (kg)."),
) -> None:
    """Screen one declaration and print the consolidated instruction as one JSON object."""
    from risk import RuleEngine, ScreeningContext, TraderProfile

    engine = RuleEngine(_ruleset(rules))
    decl = read_declaration(file)
    ctx = ScreeningContext(
        trader=TraderProfile(credit_class=credit.value, aeo_mra_country=aeo_mra),
        manifest_gross_kg=_decimal(manifest_kg, "--manifest-kg"),
        tally_gross_kg=_decimal(tally_kg, "--tally-kg"),
    )
    _print(engine.screen(decl, ctx, stage, seed=seed).to_dict())


@risk_app.command("simulate")
def simulate_cmd(
    declarations: int = typer.Option(
        ..., "--declarations", min=1, help="Number of declarations to generate."
    ),
    seed: int = typer.Option(
        ..., "--seed", help="Seed of the generated population and of the sampling draw."
    ),
    rules: Path | None = typer.Option(None, "--rules", help="Rule directory (default: shipped risk/rules)."),
    stage: list[int] = typer.Option([1, 2], "--stage", min=1, max=2, help="Stage(s) to screen (repeatable)."),
    scan_clear_rate: float = typer.Option(
        0.9, "--scan-clear-rate", min=0.0, max=1.0, help="Simulated share of clear machine scans."
    ),
    population: Path | None = typer.Option(
        None, "--population", help="Population mix YAML (default: risk.population, see docs/risk.md)."
    ),
) -> None:
    """Screen a generated population and print realised inspection rates per credit class, outcome, lane.

    The population mixes credit classes, goods, origins and declaration errors (risk.population)."""
    from risk.population import generate
    from risk.report import simulate

    ruleset = _ruleset(rules)
    mix = _mix(population)
    pairs = ((s.declaration, s.context) for s in generate(declarations, seed, mix))
    _print(
        simulate(ruleset, pairs, seed=seed, stages=tuple(sorted(set(stage))), scan_clear_rate=scan_clear_rate)
    )


def _mix(path: Path | None) -> Any:
    import yaml

    from risk.population import DEFAULT_MIX, load_mix

    if path is None:
        return DEFAULT_MIX
    try:
        return load_mix(path)
    except OSError as exc:
        _fail(f"cannot read {path}: {exc.strerror or exc}")
    except (ValueError, yaml.YAMLError) as exc:
        _fail(f"{path}: population mix rejected: {exc}")


def _population(
    spec: str, seed: int, credit: CreditOption | None, mix: Any = None
) -> Iterator[tuple[Any, Any]]:
    from risk import ScreeningContext, TraderProfile
    from risk.population import DEFAULT_MIX, generate

    if spec.startswith("generated:"):
        try:
            n = int(spec.split(":", 1)[1])
        except ValueError:
            _fail(f"DECLARATIONS {spec!r}: expected generated:N with an integer N")
        for s in generate(n, seed, mix or DEFAULT_MIX):
            ctx = s.context
            if credit is not None:
                ctx = replace(ctx, trader=replace(ctx.trader, credit_class=credit.value))
            yield s.declaration, ctx
        return
    path = Path(spec)
    if path.is_dir():
        files = sorted(
            p for p in path.iterdir() if p.is_file() and p.suffix.lower() in (".xml", ".edi", ".txt")
        )
        if not files:
            _fail(f"{path}: no declaration files (*.xml)")
    elif path.is_file():
        files = [path]
    else:
        _fail(f"DECLARATIONS {spec!r}: no such file or directory (or use generated:N)")
    ctx = ScreeningContext(trader=TraderProfile(credit_class=(credit or CreditOption.general).value))
    for f in files:
        yield read_declaration(f), ctx


@risk_app.command("what-if")
def what_if_cmd(
    rules_dir: Path = typer.Argument(..., help="Candidate rule directory (not yet active)."),
    declarations: str = typer.Argument(
        ..., help="Declarations to replay: a DecMessage XML file, a directory of them, or generated:N."
    ),
    baseline: Path | None = typer.Option(
        None, "--baseline", help="Active rule directory (default: shipped)."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed for generated:N and for the sampling draw."),
    stage: list[int] = typer.Option(
        [1, 2], "--stage", min=1, max=2, help="Stage(s) to compare (repeatable)."
    ),
    credit: CreditOption | None = typer.Option(None, "--credit", help="Override the trader credit class."),
    population: Path | None = typer.Option(
        None, "--population", help="Population mix YAML for generated:N (default: risk.population)."
    ),
    output: OutputFormat = typer.Option(
        OutputFormat.json,
        "--format",
        help="json (full report) or table (realised rates per credit class and outcome, side by side).",
    ),
) -> None:
    """Report how realised rates (inspection per credit class, outcomes, lanes) would change if RULES_DIR
    replaced the active rule set: active and candidate side by side, with the difference."""
    from risk.report import render_table, what_if

    base = _ruleset(baseline)
    cand = _ruleset(rules_dir)
    mix = _mix(population)
    report = what_if(
        base, cand, _population(declarations, seed, credit, mix), seed=seed, stages=tuple(sorted(set(stage)))
    )
    if output is OutputFormat.table:
        typer.echo(render_table(report))
    else:
        _print(report)


def register(app: typer.Typer) -> None:
    app.add_typer(risk_app, name="risk")
