"""Compact notation for leaf tables: "SeqNo IEFlag! GrossWet:dec PackNo:int".

`!` marks a required element; `:dec` / `:int` pick the converter; `=attr` overrides the derived
snake_case attribute name (e.g. "InputerName=input_er_name"). Keeps the long official field lists
readable in one place, in schema order.
"""

from __future__ import annotations

import re

from messages.xml.binding import Leaf

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def snake(tag: str) -> str:
    return _CAMEL.sub("_", tag).lower()


def leaves(spec: str) -> tuple[Leaf, ...]:
    out: list[Leaf] = []
    for token in spec.split():
        required = "!" in token
        token = token.replace("!", "")
        token, _, attr = token.partition("=")
        tag, _, conv = token.partition(":")
        out.append(Leaf(tag, attr or snake(tag), conv or "str", required))
    return tuple(out)
