"""Read a scenario file (by path or by the name of a shipped one) and report every problem at once."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from simulators.scenario import vocab
from simulators.scenario.model import Scenario

SHIPPED = Path(__file__).resolve().parents[1] / "scenarios"


class ScenarioError(ValueError):
    def __init__(self, source: str, problems: list[str]) -> None:
        super().__init__(f"{source}: " + "; ".join(problems))
        self.source = source
        self.problems = problems


def shipped() -> list[str]:
    return sorted(p.stem for p in SHIPPED.glob("*.yaml"))


def resolve(name_or_path: str) -> Path:
    path = Path(name_or_path)
    if path.is_file():
        return path
    candidate = SHIPPED / f"{name_or_path.removesuffix('.yaml')}.yaml"
    if candidate.is_file():
        return candidate
    raise ScenarioError(name_or_path, [f"no such file, and not a shipped scenario ({', '.join(shipped())})"])


def load(name_or_path: str) -> Scenario:
    path = resolve(name_or_path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ScenarioError(str(path), [f"not readable YAML: {exc}"]) from None
    return parse(data, str(path))


def location(loc: tuple[int | str, ...]) -> str:
    """pydantic's ('expect', 'declarations', 1, 'kind') as `expect.declarations[1].kind`: the form the
    reference and vocabulary checks use, so one answer has one location format."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def parse(data: object, source: str = "<scenario>") -> Scenario:
    if not isinstance(data, dict):
        raise ScenarioError(source, ["the file must be a mapping (name, start, parties, ...)"])
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            where = location(err["loc"]) or "(top)"
            message = err["msg"].removeprefix("Value error, ")
            problems.extend(f"{where}: {m}" if where != "(top)" else m for m in message.split("; "))
        problems += [p for p in vocab.raw_problems(data) if p not in problems]  # all at once
        raise ScenarioError(source, problems) from None
