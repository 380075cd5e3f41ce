"""No declaration state or consignment status is assigned outside the domain model and the
row mapper: a static check over hub/, so a shortcut past the transition tables shows up here."""

from __future__ import annotations

import re
from pathlib import Path

HUB = Path(__file__).resolve().parents[2] / "hub"
ALLOWED = {HUB / "services/clearance/repository.py"}
ASSIGN = re.compile(r"\.state\s*(,[^=\n]*)?=[^=]|consignment\.status\s*(,[^=\n]*)?=[^=]|\bstate=\"")


def test_states_change_only_through_the_domain_model() -> None:
    offenders = []
    for path in HUB.rglob("*.py"):
        if path in ALLOWED or "clearance/domain" in path.as_posix():
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if ASSIGN.search(line.split("#")[0]):
                offenders.append(f"{path.relative_to(HUB.parent)}:{number}: {line.strip()}")
    assert offenders == []
