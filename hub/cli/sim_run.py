"""`swhub sim run SCENARIO` and `swhub sim scenarios`: rehearse a scenario against a hub started for the
run (embedded default, or RabbitMQ/PostgreSQL from HUB_AMQP_URL / HUB_DATABASE_URL), with a live timeline,
and exit non-zero listing every expectation that failed."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from simulators.scenario.load import ScenarioError, load, shipped
from simulators.scenario.runner import RunResult, ScenarioRunner

console = Console()
EXIT_FAILED = 1  # expectations failed
EXIT_INPUT = 2  # the scenario file is not valid
EXIT_ENVIRONMENT = 3  # the hub or a simulator could not be started / controlled


class LiveReporter:
    """The live timeline (one line per event, in simulated time) under a progress bar."""

    def __init__(self, progress: Progress | None, console: Console) -> None:
        self._bar = progress
        self.console = console
        self.task = progress.add_task("scenario", total=None) if progress else None
        self.lines: list[str] = []

    def event(self, at: datetime, who: str, text: str) -> None:
        line = f"{at:%a %m-%d %H:%M}  {who:<12} {text}"
        self.lines.append(line)
        self.console.print(f"[dim]{at:%a %m-%d %H:%M}[/dim]  [bold]{who:<12}[/bold] {text}", highlight=False)

    def progress(self, done: int, total: int, at: datetime) -> None:
        if self._bar is not None and self.task is not None:
            self._bar.update(
                self.task, completed=done, total=total, description=f"simulated {at:%a %m-%d %H:%M}"
            )


# Below this width a five-column table squeezes the expectation's name to an ellipsis: print lines.
TABLE_MIN_WIDTH = 110


def print_result(result: RunResult, console: Console) -> None:
    if console.width < TABLE_MIN_WIDTH:
        console.print(f"[bold]{result.scenario}: expectations[/bold]", highlight=False)
        for c in result.checks:
            mark = "[green]ok  [/green]" if c.ok else "[red]FAIL[/red]"
            console.print(
                f"{mark} {c.where}: {c.what}\n     expected {c.expected}, got {c.actual}",
                highlight=False,
                soft_wrap=True,
            )
        for error in result.errors:
            console.print(f"[red]error:[/red] {error}", highlight=False)
        return
    table = Table(title=f"{result.scenario}: expectations", show_lines=False)
    table.add_column("")
    table.add_column("where")
    table.add_column("what")
    table.add_column("expected")
    table.add_column("got")
    for c in result.checks:
        table.add_row(
            "[green]ok[/green]" if c.ok else "[red]FAIL[/red]", c.where, c.what, c.expected, c.actual
        )
    console.print(table)
    for error in result.errors:
        console.print(f"[red]error:[/red] {error}", highlight=False)


def print_summary(summary: dict[str, Any], console: Console) -> None:
    table = Table(title="Summary", show_header=False)
    table.add_column("figure")
    table.add_column("value")
    table.add_row(
        "summary declarations filed early (before arrival)", str(summary["summary_declarations_filed_early"])
    )
    for outcome, n in sorted(summary["screening_outcomes"].items()):
        table.add_row(f"screening {outcome}", str(n))
    for state, n in sorted(summary["declaration_states"].items()):
        table.add_row(f"declarations {state}", str(n))
    table.add_row("containers released", str(summary["containers_released"]))
    if summary.get("containers_gated_out") is not None:
        table.add_row(
            "containers gated out (outside office hours)",
            f"{summary['containers_gated_out']} ({summary['gated_out_outside_office_hours']})",
        )
    for r in summary["refunds"]:
        sla = {True: "on time", False: "LATE", None: "clock running"}[r["on_time"]]
        kind = "FTZ reputable, same day" if r["ftz_reputable"] else f"class {r['class']}"
        table.add_row(
            f"refund {r['application_no']} ({kind})",
            f"{r['status']}, {r['used_working_days']} working day(s), deadline "
            f"{(r['deadline'] or '')[:16]}, {sla}",
        )
    console.print(table)


def run_scenario(
    name: str,
    *,
    speed: float | None,
    timeout: float,
    quiet: bool,
    json_out: Path | None,
    console: Console,
    verbose: bool = False,
) -> int:
    from hub.cli.simstack import local_stack

    # The hub's own warnings (refund alerts, retries) would interleave with the timeline; the run's
    # outcome is what the expectations check. `--verbose` shows them.
    logging.getLogger("hub").setLevel(logging.INFO if verbose else logging.ERROR)
    try:
        scenario = load(name)
    except ScenarioError as exc:
        console.print(f"[red]{exc.source}: the scenario is not valid[/red]")
        for problem in exc.problems:
            console.print(f"  - {problem}", highlight=False)
        return EXIT_INPUT
    if speed:
        scenario = scenario.model_copy(update={"speed": speed})
    console.print(f"[bold]{scenario.name}[/bold]: {scenario.title or scenario.description}")
    try:
        with local_stack(scenario) as endpoints:
            console.print(
                f"hub {endpoints.hub_url} (bus: {endpoints.bus}), data in {endpoints.extra['work_dir']}; "
                f"simulated start {scenario.start:%Y-%m-%d %H:%M}, x{scenario.speed:g}"
            )
            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                console=console,
                transient=True,
                disable=quiet,
            ) as progress:
                reporter = LiveReporter(None if quiet else progress, console)
                result = ScenarioRunner(scenario, endpoints, reporter=reporter, real_timeout=timeout).run()
    except RuntimeError as exc:
        console.print(f"[red]could not run the scenario: {exc}[/red]", highlight=False)
        return EXIT_ENVIRONMENT
    print_result(result, console)
    print_summary(result.summary, console)
    if json_out is not None:
        json_out.write_text(
            json.dumps(
                {
                    "scenario": result.scenario,
                    "ok": result.ok,
                    "errors": result.errors,
                    "failed": [c.line() for c in result.failed],
                    "checks": [c.line() for c in result.checks],
                    "summary": result.summary,
                    "real_seconds": round(result.real_seconds, 1),
                },
                indent=2,
                ensure_ascii=False,
            ),
            encoding="utf-8",
        )
    if not result.ok:
        console.print(
            f"[red bold]{len(result.failed)} expectation(s) failed[/red bold]"
            + (f", {len(result.errors)} error(s)" if result.errors else "")
        )
        for c in result.failed:
            console.print(f"  - {c.line()}", highlight=False)
        return EXIT_FAILED
    console.print(
        f"[green bold]all {len(result.checks)} expectations met[/green bold] in {result.real_seconds:.1f} s"
    )
    return 0


def register(sim_app: typer.Typer) -> None:
    @sim_app.command("run")
    def run(
        scenario: str = typer.Argument(
            ..., help="A shipped scenario's name (see `swhub sim scenarios`) or a YAML file."
        ),
        speed: float = typer.Option(
            None, help="Simulated seconds per real second (default: the scenario's)."
        ),
        timeout: float = typer.Option(300.0, help="Real seconds the whole run may take."),
        quiet: bool = typer.Option(False, help="No progress bar."),
        json_out: Path = typer.Option(None, "--json", help="Also write the result as JSON to this file."),
        verbose: bool = typer.Option(False, help="Show the hub's log warnings too."),
    ) -> None:
        """Run SCENARIO against a hub started for the run (embedded default; RabbitMQ/PostgreSQL with
        HUB_AMQP_URL / HUB_DATABASE_URL) and the customs, port, tax and bank simulators. Exit code 0: every
        expectation met; 1: some failed (listed); 2: invalid scenario; 3: environment problem."""
        raise typer.Exit(
            run_scenario(
                scenario,
                speed=speed,
                timeout=timeout,
                quiet=quiet,
                json_out=json_out,
                console=console,
                verbose=verbose,
            )
        )

    @sim_app.command("scenarios")
    def scenarios() -> None:
        """List the shipped scenarios."""
        for name in shipped():
            s = load(name)
            console.print(f"[bold]{name}[/bold]  {s.title}", highlight=False)
