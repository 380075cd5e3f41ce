"""SLA profiles: versioned time standards for export refunds, loaded from data files.

A profile is keyed by name and carries its effective dates, region, per-class limits, per-stage limits,
the same-day rule, traffic-light thresholds and the source text it comes from. Built-in profiles live in
refunds/profiles/*.yaml; callers can add a directory of their own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, time
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from refunds.notice import Problem, load_yaml

DEFAULT_PROFILE = "shandong-2020"
CLASSES: tuple[int, ...] = (1, 2, 3, 4)
# Stage order; each stage runs from the end of the previous one (see STAGE_BOUNDS).
STAGES: tuple[str, ...] = ("acceptance", "review", "approval", "treasury", "credit")
STAGE_LABELS: Mapping[str, str] = {
    "acceptance": "受理",
    "review": "审核",
    "approval": "审批",
    "treasury": "退库",
    "credit": "到账",
}
# (start column, end column) of each stage in the applications table (see refunds.report).
STAGE_BOUNDS: Mapping[str, tuple[str, str]] = {
    "acceptance": ("filed_at", "accepted_at"),
    "review": ("accepted_at", "reviewed_at"),
    "approval": ("reviewed_at", "approved_at"),
    "treasury": ("approved_at", "treasury_at"),
    "credit": ("treasury_at", "credited_at"),
}
_SAME_DAY_FLAGS = frozenset({"ftz", "reputable"})
_TOP_KEYS = {
    "name",
    "version",
    "effective_from",
    "effective_to",
    "region",
    "region_name",
    "timezone",
    "source",
    "classes",
    "portfolio_target_working_days",
    "stages",
    "same_day",
    "traffic_lights",
}


class ProfileError(ValueError):
    """A profile file is invalid (every problem listed), or a requested profile does not exist."""

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        self.problems = problems or []
        lines = "".join(f"\n  - {p}" for p in self.problems)
        super().__init__(f"{message}{lines}")


@dataclass(frozen=True)
class SameDayRule:
    enabled: bool
    requires: frozenset[str]  # subset of {"ftz", "reputable"}
    cutoff: time  # local time; filed strictly before it on a working day -> credited that day
    classes: frozenset[int]


@dataclass(frozen=True)
class TrafficLightThresholds:
    amber_ratio: float  # amber once this share of the limit is used
    amber_days_left: int  # ... or when this many working days (or fewer) remain
    same_day_amber_minutes: int  # same-day clocks: amber in the last N minutes


@dataclass(frozen=True)
class ProfileSource:
    title: str
    text: str = ""
    notes: str = ""


@dataclass(frozen=True)
class SlaProfile:
    name: str
    version: int
    effective_from: date
    effective_to: date | None
    region: str
    region_name: str
    timezone: ZoneInfo
    source: ProfileSource
    class_limits: Mapping[int, int]  # working days, acceptance -> approval done
    portfolio_target: float  # average working days over the portfolio
    stage_limits: Mapping[str, Mapping[int, int]]  # stage -> class -> working days
    same_day: SameDayRule
    lights: TrafficLightThresholds

    def limit(self, enterprise_class: int) -> int:
        try:
            return self.class_limits[enterprise_class]
        except KeyError:
            raise ProfileError(
                f"profile {self.name} has no limit for class {enterprise_class} "
                f"(classes: {sorted(self.class_limits)})"
            ) from None

    def stage_limit(self, stage: str, enterprise_class: int) -> int:
        if stage not in self.stage_limits:
            raise ProfileError(f"unknown stage {stage!r} (stages: {', '.join(STAGES)})")
        return self.stage_limits[stage][enterprise_class]

    def same_day_applies(self, enterprise_class: int, ftz: bool, reputable: bool) -> bool:
        """Same-day path: enabled, class admitted, and every required flag set (FTZ alone is not enough
        under the default profile)."""
        rule = self.same_day
        flags = {"ftz": ftz, "reputable": reputable}
        return rule.enabled and enterprise_class in rule.classes and all(flags[f] for f in rule.requires)

    def in_force(self, on: date) -> bool:
        return self.effective_from <= on and (self.effective_to is None or on < self.effective_to)


def parse_profile(data: Any, origin: str = "profile") -> SlaProfile:
    """Validate decoded profile data; raise ProfileError listing every problem."""
    problems: list[Problem] = []

    def problem(loc: str, msg: str) -> None:
        problems.append(Problem(loc, msg))

    if not isinstance(data, dict):
        raise ProfileError(f"{origin}: invalid profile", [Problem("(root)", "expected a mapping")])
    for key in sorted(set(data) - _TOP_KEYS, key=str):
        problem(str(key), "unknown key")

    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        problem("name", "required non-empty text")
    version = data.get("version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        problem("version", f"must be a positive integer, got {version!r}")
    effective_from = _date(data.get("effective_from"), "effective_from", problems, required=True)
    effective_to = _date(data.get("effective_to"), "effective_to", problems, required=False)
    if effective_from and effective_to and effective_to <= effective_from:
        problem("effective_to", "must be after effective_from")
    region = data.get("region")
    if not isinstance(region, str) or not region.strip():
        problem("region", "required text (division code, or CN for national)")
    tz = None
    try:
        tz = ZoneInfo(str(data.get("timezone", "Asia/Shanghai")))
    except (ZoneInfoNotFoundError, ValueError):
        problem("timezone", f"unknown time zone {data.get('timezone')!r}")

    src = data.get("source")
    source = None
    if not isinstance(src, dict) or not isinstance(src.get("title"), str) or not src["title"].strip():
        problem("source.title", "required: the document the numbers come from")
    else:
        source = ProfileSource(str(src["title"]), str(src.get("text") or ""), str(src.get("notes") or ""))

    class_limits: dict[int, int] = {}
    classes = data.get("classes")
    if not isinstance(classes, dict):
        problem("classes", "required mapping class -> {limit: working days}")
    else:
        for cls in CLASSES:
            entry = classes.get(cls, classes.get(str(cls)))
            limit = entry.get("limit") if isinstance(entry, dict) else None
            if not _nonneg_int(limit) or limit < 1:
                problem(f"classes.{cls}.limit", f"required positive integer of working days, got {limit!r}")
            else:
                class_limits[cls] = limit
        for extra in sorted(set(map(str, classes)) - {str(c) for c in CLASSES}):
            problem(f"classes.{extra}", "unknown class (classes are 1-4)")

    target = data.get("portfolio_target_working_days")
    if not isinstance(target, int | float) or isinstance(target, bool) or target <= 0:
        problem("portfolio_target_working_days", f"required positive number, got {target!r}")

    stage_limits: dict[str, dict[int, int]] = {}
    stages = data.get("stages")
    if not isinstance(stages, dict):
        problem("stages", f"required mapping of {', '.join(STAGES)}")
    else:
        for extra in sorted(set(map(str, stages)) - set(STAGES)):
            problem(f"stages.{extra}", f"unknown stage (stages: {', '.join(STAGES)})")
        for stage in STAGES:
            per_class = stages.get(stage)
            if not isinstance(per_class, dict):
                problem(f"stages.{stage}", "required mapping class -> working days")
                continue
            stage_limits[stage] = {}
            for cls in CLASSES:
                value = per_class.get(cls, per_class.get(str(cls)))
                if not _nonneg_int(value):
                    problem(f"stages.{stage}.{cls}", f"required integer >= 0, got {value!r}")
                else:
                    stage_limits[stage][cls] = value
        for cls, limit in class_limits.items():
            review = stage_limits.get("review", {}).get(cls)
            approval = stage_limits.get("approval", {}).get(cls)
            if review is not None and approval is not None and review + approval > limit:
                problem(
                    f"stages.review/approval.{cls}",
                    f"review {review} + approval {approval} exceeds the class {cls} limit of {limit}",
                )

    same_day = _same_day(data.get("same_day"), problems)
    lights = _lights(data.get("traffic_lights"), problems)

    if problems:
        raise ProfileError(f"{origin}: invalid profile", problems)
    assert tz is not None and source is not None and same_day is not None and lights is not None
    assert effective_from is not None
    return SlaProfile(
        name=str(name).strip(),
        version=int(version),
        effective_from=effective_from,
        effective_to=effective_to,
        region=str(region).strip(),
        region_name=str(data.get("region_name") or ""),
        timezone=tz,
        source=source,
        class_limits=class_limits,
        portfolio_target=float(target),
        stage_limits=stage_limits,
        same_day=same_day,
        lights=lights,
    )


def _nonneg_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _date(value: Any, loc: str, problems: list[Problem], required: bool) -> date | None:
    if value is None:
        if required:
            problems.append(Problem(loc, "required date YYYY-MM-DD"))
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        problems.append(Problem(loc, f"expected a date YYYY-MM-DD, got {value!r}"))
        return None


def _same_day(raw: Any, problems: list[Problem]) -> SameDayRule | None:
    if raw is None:
        return SameDayRule(False, _SAME_DAY_FLAGS, time(16, 0), frozenset(CLASSES))
    if not isinstance(raw, dict):
        problems.append(Problem("same_day", "must be a mapping"))
        return None
    ok = True
    enabled = raw.get("enabled", False)
    if not isinstance(enabled, bool):
        problems.append(Problem("same_day.enabled", "must be true or false"))
        ok = False
    requires = raw.get("requires", sorted(_SAME_DAY_FLAGS))
    if not isinstance(requires, list) or not set(requires) <= _SAME_DAY_FLAGS:
        problems.append(Problem("same_day.requires", f"must be a list drawn from {sorted(_SAME_DAY_FLAGS)}"))
        ok = False
    cutoff_raw = raw.get("cutoff", "16:00")
    cutoff = None
    try:
        cutoff = time.fromisoformat(str(cutoff_raw))
    except ValueError:
        problems.append(Problem("same_day.cutoff", f"expected HH:MM, got {cutoff_raw!r}"))
        ok = False
    classes = raw.get("classes", list(CLASSES))
    if not isinstance(classes, list) or not set(classes) <= set(CLASSES):
        problems.append(Problem("same_day.classes", "must be a list of classes 1-4"))
        ok = False
    if not ok:
        return None
    assert cutoff is not None
    return SameDayRule(enabled, frozenset(requires), cutoff, frozenset(classes))


def _lights(raw: Any, problems: list[Problem]) -> TrafficLightThresholds | None:
    raw = raw if raw is not None else {}
    if not isinstance(raw, dict):
        problems.append(Problem("traffic_lights", "must be a mapping"))
        return None
    ratio = raw.get("amber_ratio", 0.5)
    days_left = raw.get("amber_days_left", 1)
    minutes = raw.get("same_day_amber_minutes", 120)
    ok = True
    if not isinstance(ratio, int | float) or isinstance(ratio, bool) or not 0 < ratio <= 1:
        problems.append(Problem("traffic_lights.amber_ratio", f"must be a number in (0, 1], got {ratio!r}"))
        ok = False
    if not _nonneg_int(days_left):
        problems.append(
            Problem("traffic_lights.amber_days_left", f"must be an integer >= 0, got {days_left!r}")
        )
        ok = False
    if not _nonneg_int(minutes):
        problems.append(
            Problem("traffic_lights.same_day_amber_minutes", f"must be an integer >= 0, got {minutes!r}")
        )
        ok = False
    return TrafficLightThresholds(float(ratio), days_left, minutes) if ok else None


def load_profile_file(path: Path) -> SlaProfile:
    try:
        data = load_yaml(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ProfileError(f"{path}: cannot read profile: {exc}") from exc
    return parse_profile(data, origin=str(path))


class ProfileRegistry:
    """All known profiles: built-ins plus any extra directory. Look up by name, or select the profile in
    force for a region on a date (latest effective_from wins)."""

    def __init__(self, profiles: Iterable[SlaProfile]) -> None:
        self._by_name: dict[str, SlaProfile] = {}
        for profile in profiles:
            if profile.name in self._by_name:
                raise ProfileError(f"duplicate profile name {profile.name!r}")
            self._by_name[profile.name] = profile

    @classmethod
    def builtin(cls, extra_dir: Path | None = None) -> ProfileRegistry:
        profiles = [
            parse_profile(load_yaml(entry.read_text("utf-8")), origin=f"builtin:{entry.name}")
            for entry in sorted(resources.files("refunds.profiles").iterdir(), key=lambda e: e.name)
            if entry.name.endswith((".yaml", ".yml"))
        ]
        if extra_dir is not None:
            if not extra_dir.is_dir():
                raise ProfileError(f"profile directory {extra_dir} does not exist")
            profiles += [load_profile_file(p) for p in sorted(extra_dir.glob("*.y*ml"))]
        return cls(profiles)

    def names(self) -> list[str]:
        return sorted(self._by_name)

    def get(self, name: str) -> SlaProfile:
        try:
            return self._by_name[name]
        except KeyError:
            raise ProfileError(f"unknown profile {name!r} (known: {', '.join(self.names())})") from None

    def select(self, region: str, on: date) -> SlaProfile:
        candidates = [p for p in self._by_name.values() if p.region == region and p.in_force(on)]
        if not candidates:
            raise ProfileError(f"no profile in force for region {region!r} on {on}")
        return max(candidates, key=lambda p: (p.effective_from, p.version))

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._by_name[n] for n in self.names())
