"""`swhub refunds ...`: export tax refund SLA deadlines, reports, profiles and synthetic data.

`swhub refunds deadline --class N --accepted ISO8601 [--ftz] [--reputable] [--profile NAME]` prints one JSON
object {deadline, rule, working_days, provisional, profile}; scripts call it in exactly this form."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import typer

from hub.cli.calendar import fail, open_calendar
from hub.config import ROOT
from refunds.calendar import WorkingCalendar
from refunds.deadline import DeadlineRequest, compute_deadline
from refunds.report import Report, ReportInputError, build_report
from refunds.sla import DEFAULT_PROFILE, STAGE_LABELS, ProfileError, ProfileRegistry, SlaProfile
from refunds.synthetic import generate_applications

DEFAULT_APPLICATIONS = ROOT / "var" / "refunds" / "applications.csv"

refunds_app = typer.Typer(
    name="refunds",
    help="Export tax refund (出口退税) SLAs: deadlines, reports, profiles.",
    no_args_is_help=True,
)

ProfileOption = typer.Option(
    DEFAULT_PROFILE, "--profile", help="SLA profile name (see `swhub refunds profiles`)."
)
ProfilesDirOption = typer.Option(
    None, "--profiles-dir", envvar="HUB_REFUND_PROFILES_DIR", help="Extra directory of profile YAML files."
)
StoreOption = typer.Option(
    None,
    "--calendar-store",
    envvar="HUB_CALENDAR_DIR",
    help="Directory of loaded notice years (default: the hub database).",
)


def _profile(name: str, profiles_dir: Path | None) -> SlaProfile:
    try:
        return ProfileRegistry.builtin(profiles_dir).get(name)
    except ProfileError as exc:
        raise fail(str(exc)) from None


def _parse_moment(value: str, option: str) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise fail(
            f"{option} must be an ISO 8601 date-time (e.g. 2026-09-29T10:30:00+08:00), got {value!r}"
        ) from None


def _parse_day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise fail(f"{option} must be a date YYYY-MM-DD, got {value!r}") from None


@refunds_app.command("deadline")
def deadline(
    enterprise_class: int = typer.Option(..., "--class", min=1, max=4, help="Enterprise class 1-4."),
    accepted: str = typer.Option(
        ...,
        "--accepted",
        help="Acceptance time, ISO 8601 (naive = Asia/Shanghai); the filing time for same-day.",
    ),
    ftz: bool = typer.Option(False, "--ftz", help="Enterprise in the China (Shandong) FTZ."),
    reputable: bool = typer.Option(False, "--reputable", help="Reputable enterprise (信誉好)."),
    profile: str = ProfileOption,
    profiles_dir: Path | None = ProfilesDirOption,
    store: Path | None = StoreOption,
) -> None:
    """Print the deadline of one application as JSON: deadline, rule, working_days, provisional, profile."""
    sla = _profile(profile, profiles_dir)
    request = DeadlineRequest(enterprise_class, _parse_moment(accepted, "--accepted"), ftz, reputable)
    try:
        result = compute_deadline(request, sla, open_calendar(store))
    except (ProfileError, ValueError) as exc:
        raise fail(str(exc)) from None
    typer.echo(json.dumps(result.as_json(), ensure_ascii=False))


def _frame_from_database(sla: SlaProfile, calendar: WorkingCalendar) -> pd.DataFrame:
    """The refund cases of the hub database in the column layout refunds.report expects."""
    from sqlalchemy.exc import SQLAlchemyError

    from hub.config import get_settings
    from hub.db.session import Database
    from hub.services.refunds.queries import report_frame

    db = Database(get_settings().database_url)
    try:
        with db.sessions() as session:
            return report_frame(session, calendar, sla)
    except SQLAlchemyError as exc:
        raise fail(
            f"cannot read refund cases from the database ({exc.__class__.__name__}): run `swhub db "
            "upgrade` first, or pass --input FILE"
        ) from None
    finally:
        db.dispose()


def _render_table(report: Report) -> str:
    def fmt(frame: pd.DataFrame) -> str:
        return frame.to_string(float_format=lambda v: f"{v:.3f}", na_rep="-")

    stages = report.by_stage.copy()
    stages.index = [f"{s} {STAGE_LABELS[s]}" for s in stages.index]
    p = report.portfolio
    mean = "-" if p["mean_wd"] is None or pd.isna(p["mean_wd"]) else f"{p['mean_wd']:.2f}"
    verdict = {True: "met", False: "NOT met", None: "no completed applications"}[p["met"]]
    period = f"{report.period[0] or '…'} .. {report.period[1] or '…'}"
    return "\n".join(
        [
            f"profile {report.profile}, accepted {period}",
            "",
            "by class (working days acceptance -> approval, net of pauses)",
            fmt(report.by_class),
            "",
            "by rule",
            fmt(report.by_rule),
            "",
            "by stage (gross working days)",
            fmt(stages),
            "",
            f"portfolio: mean {mean} working days over {p['completed']} completed, "
            f"target <= {p['target_wd']:g}: {verdict}",
        ]
    )


@refunds_app.command("report")
def report(
    date_from: str | None = typer.Option(None, "--from", help="First acceptance date (YYYY-MM-DD)."),
    date_to: str | None = typer.Option(None, "--to", help="Last acceptance date (YYYY-MM-DD)."),
    output: str = typer.Option("table", "--format", help="table, csv or json."),
    input_file: Path | None = typer.Option(
        None,
        "--input",
        envvar="HUB_REFUND_APPLICATIONS",
        help="Applications CSV file (default: the refund cases in the hub database).",
    ),
    as_of: str | None = typer.Option(
        None, "--as-of", help="ISO 8601 time: open applications past their deadline count as breaches."
    ),
    profile: str = ProfileOption,
    profiles_dir: Path | None = ProfilesDirOption,
    store: Path | None = StoreOption,
) -> None:
    """SLA report per class, rule and stage, with the portfolio average against its target.

    Per class and overall: count, on-time rate, mean and p90 working days, breaches. Applications are
    selected on their acceptance date."""
    if output not in ("table", "csv", "json"):
        raise fail(f"--format must be table, csv or json, got {output!r}")
    start, end = _parse_day(date_from, "--from"), _parse_day(date_to, "--to")
    if start and end and end < start:
        raise fail(f"--to {end} is before --from {start}")
    moment = _parse_moment(as_of, "--as-of") if as_of else None
    sla = _profile(profile, profiles_dir)
    if input_file is None:
        frame = _frame_from_database(sla, open_calendar(store))
    else:
        if not input_file.is_file():
            raise fail(
                f"no applications table at {input_file}: pass --input FILE (CSV, columns in docs/refunds.md) "
                "or create one with `swhub refunds generate`",
                1,
            )
        try:
            frame = pd.read_csv(input_file)
        except (OSError, ValueError, pd.errors.ParserError) as exc:
            raise fail(f"cannot read {input_file}: {exc}") from None
    try:
        result = build_report(frame, sla, open_calendar(store), start, end, moment)
    except ReportInputError as exc:
        raise fail(str(exc)) from None
    if output == "json":
        typer.echo(json.dumps(result.as_json(), ensure_ascii=False, indent=2))
    elif output == "csv":
        typer.echo(result.to_csv(), nl=False)
    else:
        typer.echo(_render_table(result))


@refunds_app.command("generate")
def generate(
    count: int = typer.Option(10_000, "--count", min=1, help="Number of applications."),
    out: Path = typer.Option(DEFAULT_APPLICATIONS, "--out", help="CSV file to write."),
    start: str = typer.Option("2026-01-01", "--start", help="First acceptance date."),
    days: int = typer.Option(365, "--days", min=1, help="Acceptance dates spread over this many days."),
    seed: int = typer.Option(20260101, "--seed", help="Random seed (same seed, same data)."),
    profile: str = ProfileOption,
    profiles_dir: Path | None = ProfilesDirOption,
    store: Path | None = StoreOption,
) -> None:
    """Write a synthetic applications table (invented distributions: for demos and load, not statistics)."""
    first = _parse_day(start, "--start")
    assert first is not None
    sla = _profile(profile, profiles_dir)
    frame = generate_applications(count, sla, open_calendar(store), start=first, days=days, seed=seed)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(out, index=False)
    except OSError as exc:
        raise fail(f"cannot write {out}: {exc}") from None
    typer.echo(f"wrote {count} applications to {out}")


@refunds_app.command("profiles")
def profiles(
    name: str | None = typer.Option(None, "--name", help="Show one profile in full."),
    profiles_dir: Path | None = ProfilesDirOption,
) -> None:
    """List the SLA profiles (name, version, effective dates, region, class limits), or show one."""
    try:
        registry = ProfileRegistry.builtin(profiles_dir)
        chosen = [registry.get(name)] if name else list(registry)
    except ProfileError as exc:
        raise fail(str(exc)) from None
    for p in chosen:
        limits = "/".join(str(p.class_limits[c]) for c in sorted(p.class_limits))
        same_day = (
            f"same-day {'+'.join(sorted(p.same_day.requires))} before {p.same_day.cutoff:%H:%M}"
            if p.same_day.enabled
            else "no same-day"
        )
        until = p.effective_to or "open"
        typer.echo(
            f"{p.name} v{p.version}  {p.effective_from}..{until}  region {p.region}  "
            f"classes {limits} WD  target avg <= {p.portfolio_target:g}  {same_day}"
        )
        if name:
            typer.echo(f"  source: {p.source.title}")
            if p.source.text:
                typer.echo(f"  text: {p.source.text}")
            if p.source.notes:
                typer.echo(f"  notes: {p.source.notes}")
            for stage, per_class in p.stage_limits.items():
                row = ", ".join(f"class {c}: {v}" for c, v in per_class.items())
                typer.echo(f"  stage {stage} {STAGE_LABELS[stage]}: {row}")
            lights = p.lights
            typer.echo(
                f"  lights: amber from {lights.amber_ratio:.0%} used or <= {lights.amber_days_left} WD left; "
                f"same-day amber in the last {lights.same_day_amber_minutes} min; red when breached"
            )


def register(app: typer.Typer) -> None:
    app.add_typer(refunds_app, name="refunds")
