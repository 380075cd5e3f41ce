"""Scenario time offsets: "+3h30m", "-1d", "90s", "2d4h". Relative to the scenario start."""

from __future__ import annotations

import re
from datetime import timedelta

_PART = re.compile(r"(\d+(?:\.\d+)?)(d|h|m|s)")
_UNITS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0}


def parse_offset(text: str | int | float) -> timedelta:
    """Seconds as a number, or a signed sequence of <number><d|h|m|s>."""
    if isinstance(text, int | float):
        return timedelta(seconds=float(text))
    raw = str(text).strip().replace(" ", "")
    sign = -1.0 if raw.startswith("-") else 1.0
    body = raw.lstrip("+-")
    if not body:
        raise ValueError(f"empty duration {text!r}")
    total, pos = 0.0, 0
    for match in _PART.finditer(body):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(body):
        raise ValueError(f"bad duration {text!r}: use e.g. +3h30m, -1d, 90s")
    return timedelta(seconds=sign * total)
