"""Read a scenario file (by path or by the name of a shipped one) and report every problem at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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


def _items(data: object, *path: str) -> list[dict[str, Any]]:
    for key in path:
        data = data.get(key) if isinstance(data, dict) else None
    return [x for x in data if isinstance(x, dict)] if isinstance(data, list) else []


def raw_reference_problems(data: dict[str, Any]) -> list[str]:
    """The expectations' references (consignment, refund, party) checked on the raw file, in the model's
    words, for when a field error elsewhere stops the model from building: one wrong `kind:` must not
    hide an `of: laptopz`."""
    consignments = {c.get("ref") for v in _items(data, "vessels") for c in _items(v, "consignments")}
    refunds = {r.get("ref") for r in _items(data, "refunds")}
    parties = data.get("parties") if isinstance(data.get("parties"), dict) else {}
    out = []
    for section in ("declarations", "consignments", "notices"):
        for i, item in enumerate(_items(data, "expect", section)):
            ref = item.get("of")
            if isinstance(ref, str) and ref not in consignments:
                out.append(f"expect.{section}[{i}].of: unknown consignment {ref!r}")
    for i, item in enumerate(_items(data, "expect", "notices")):
        if isinstance(item.get("to"), str) and item["to"] not in parties:
            out.append(f"expect.notices[{i}].to: unknown party {item['to']!r}")
    for i, item in enumerate(_items(data, "expect", "refunds")):
        if isinstance(item.get("of"), str) and item["of"] not in refunds:
            out.append(f"expect.refunds[{i}].of: unknown refund {item['of']!r}")
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
        more = vocab.raw_problems(data) + raw_reference_problems(data)
        problems += [p for p in more if p not in problems]  # all at once
        raise ScenarioError(source, problems) from None
